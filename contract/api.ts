/**
 * The HTTP API of DESIGN §5 as zod schemas: one source of truth for the server (which validates requests
 * with them) and the plugin (which validates answers with them). Field names, status codes and error
 * codes are fixed: add fields freely, never rename or drop one.
 */
import { z } from 'zod'

// ---- shared -------------------------------------------------------------------------------------------

export const ErrorCode = z.enum([
  'invalid_request',
  'unauthorized',
  'token_expired',
  'invalid_pairing_code',
  'rate_limited',
  'session_not_found',
  'server_error',
  'not_found',
  'method_not_allowed',
  'payload_too_large',
  'unsupported_media_type',
  'conflict',
  'forbidden',
  'service_unavailable',
])
export type ErrorCode = z.infer<typeof ErrorCode>

export const ErrorBody = z.object({
  error: z.string(), // an ErrorCode; kept open so newer servers may add codes
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
  request_id: z.string(),
})
export type ErrorBody = z.infer<typeof ErrorBody>

// 1970–2100: a clock outside it is wrong, and PostgreSQL's timestamptz and JavaScript's Date disagree
// about years beyond 9999 and before 1 (a 500 instead of a 400).
const EARLIEST = Date.UTC(1970, 0, 1)
const LATEST = Date.UTC(2100, 0, 1)
const Timestamp = z.iso.datetime({ offset: true }).refine((s) => {
  const t = Date.parse(s)
  return t >= EARLIEST && t <= LATEST
}, 'must be a time between 1970 and 2100')
/** "+1***8912" */
export const MaskedPhone = z.string().max(32)

// ---- pairing ------------------------------------------------------------------------------------------

export const LoginQuery = z.object({
  src: z.string().max(32).optional(),
  callback_uri: z.string().max(2048),
  state: z.string().min(8).max(256),
})

export const LoginForm = z.object({
  phone: z.string().min(3).max(40),
  state: z.string().min(8).max(256),
  callback_uri: z.string().max(2048),
  country: z.string().length(2).optional(),
})

export const RemoteLoginRequest = z.object({
  phone: z.string().min(3).max(40),
  state: z.string().min(8).max(256),
  mode: z.literal('remote'),
  country: z.string().length(2).optional(),
})
export const RemoteLoginResponse = z.object({
  temp_token: z.string(),
  phone: MaskedPhone,
  expires_in: z.number().int(),
  /** "console": the server has no Twilio account; the code is printed on its terminal and dashboard outbox. */
  sms: z.string().optional(),
})

/** Where the code is when the server texts nobody (sms "console" above, or on the login callback). */
export const CONSOLE_MODE_CODE_HINT =
  'This server runs without Twilio, so no text is sent: the code is printed on the server\'s terminal, in a line starting "[console text]", and shown on its dashboard outbox (/dashboard/outbox) to the number it was for.'

export const ExchangeRequest = z.object({
  temp_token: z.string().min(1).max(512),
  pairing_code: z.string().regex(/^\d{6}$/, 'must be the 6-digit code from the text'),
  device_fingerprint: z.string().max(256).optional(),
})
export const ExchangeResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  expires_at: Timestamp,
  phone: MaskedPhone,
  /** When this pairing ends however often it is refreshed (TOKEN_FAMILY_MAX_DAYS); added, so optional. */
  pairing_expires_at: Timestamp.optional(),
})

export const RefreshResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  expires_at: Timestamp,
  pairing_expires_at: Timestamp.optional(),
})

export const LogoutResponse = z.object({
  revoked: z.literal(true),
  sessions_cleared: z.number().int(),
})

// ---- monitoring sessions ------------------------------------------------------------------------------

/** The longest session description, in characters (UTF-16 units, as both sides count): it is quoted in every text. */
export const DESCRIPTION_MAX_LENGTH = 200

export const StartSessionRequest = z.object({
  claude_session_id: z.string().min(1).max(200),
  description: z.string().trim().min(1).max(DESCRIPTION_MAX_LENGTH, `at most ${DESCRIPTION_MAX_LENGTH} characters`),
  hostname: z.string().max(255).optional(),
  started_at: Timestamp.optional(),
  project: z.string().max(255).optional(),
  heartbeat_interval_ms: z.number().int().min(1_000).max(3_600_000).optional(),
})
export const StartSessionResponse = z.object({
  session_token: z.string(),
  monitoring_id: z.string(),
})

export const EventType = z.enum(['error', 'done', 'waiting'])
export type EventType = z.infer<typeof EventType>

/** Deepest nesting of an event's details (stored as jsonb, walked by redaction and the dashboard). */
export const MAX_DETAILS_DEPTH = 20

function depthOf(value: unknown, limit: number): number {
  if (value === null || typeof value !== 'object') return 0
  if (limit <= 0) return 1
  let deepest = 0
  for (const v of Object.values(value)) deepest = Math.max(deepest, depthOf(v, limit - 1))
  return 1 + deepest
}

/** What the hook knew; all optional, unknown keys kept. */
export const EventDetails = z
  .object({
    tool_name: z.string().max(200).optional(),
    error: z.string().max(20_000).optional(),
    message: z.string().max(20_000).optional(),
    notification_type: z.string().max(100).optional(),
    cwd: z.string().max(4_096).optional(),
    hook_event_name: z.string().max(100).optional(),
    reason: z.string().max(200).optional(),
    turn_duration_ms: z.number().nonnegative().optional(),
    /** waiting: how long nobody answered (the text says "N min idle"; 10 when absent). */
    idle_ms: z.number().nonnegative().optional(),
  })
  .catchall(z.unknown())
  .refine((d) => depthOf(d, MAX_DETAILS_DEPTH + 1) <= MAX_DETAILS_DEPTH, `nested deeper than ${MAX_DETAILS_DEPTH} levels`)

export const EventRequest = z.object({
  event_type: EventType,
  timestamp: Timestamp,
  details: EventDetails.default({}),
  event_id: z.string().min(1).max(200).optional(),
})
export type EventRequest = z.infer<typeof EventRequest>

export const EventSentResponse = z.object({
  sms_sent: z.literal(true),
  sms_id: z.string(),
  rate_limited: z.literal(false),
  next_allowed_at: z.null(),
})
export const EventLimitedResponse = z.object({
  sms_sent: z.literal(false),
  rate_limited: z.literal(true),
  next_allowed_at: Timestamp,
  retry_after: z.number().int(),
})
/** 200 or 429 answers; `reason` says why nothing was texted when it was not the rate limit. */
export const EventResponse = z.object({
  sms_sent: z.boolean(),
  sms_id: z.string().nullable().optional(),
  rate_limited: z.boolean(),
  next_allowed_at: Timestamp.nullable(),
  retry_after: z.number().int().optional(),
  reason: z.string().optional(),
})
export type EventResponse = z.infer<typeof EventResponse>

export const HeartbeatRequest = z.object({
  timestamp: Timestamp,
  last_activity: Timestamp.nullable().optional(),
})
export const HeartbeatResponse = z.object({
  status: z.literal('active'),
  monitoring: z.literal(true),
})

export const StopRequest = z.object({
  reason: z.string().max(200).default('user_stopped'),
  final_state: z.string().max(200).optional(),
  ended_at: Timestamp.optional(),
})
export const StopResponse = z.object({
  stopped: z.literal(true),
  session_summary: z.object({
    duration_seconds: z.number().int(),
    sms_sent: z.number().int(),
    errors_encountered: z.number().int(),
  }),
})

/** Lifetime of an access token: 36 hours. */
export const ACCESS_TOKEN_TTL_SECONDS = 129_600
/** Lifetime of a temp token and its pairing code: 10 minutes. */
export const TEMP_TOKEN_TTL_SECONDS = 600
export const MAX_PAIRING_ATTEMPTS = 5
