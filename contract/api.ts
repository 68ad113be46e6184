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

const Timestamp = z.iso.datetime({ offset: true })
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
})

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
})

export const RefreshResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  expires_at: Timestamp,
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
