/**
 * Answering from the phone (two-way texts): the wire contract between the plugin's MCP server and the
 * server, additive to DESIGN §5. Every endpoint below authenticates with the monitoring session's
 * Bearer session token, like events and heartbeats.
 *
 *   POST /sessions/:monitoring_id/approvals                         ApprovalRequest  -> ApprovalState
 *        The plugin's waiting clock rang on a PermissionRequest nobody answered: text it as a request.
 *        `request_id` makes retries safe (a repeat answers the first answer). The server texts at most
 *        one unanswered request per session; later ones wait (`status: "queued"`) and are texted when
 *        the earlier one is settled. Approvals refused for the account or the session: 200 with
 *        `status: "refused"` and `refused_reason`; the plugin then sends an ordinary waiting event.
 *   GET  /sessions/:monitoring_id/approvals/:approval_id?wait=<s>   -> ApprovalState
 *        Long poll: answers at once when the request is settled, otherwise when it is settled or after
 *        `wait` seconds (at most 30) with its current state. Several server processes: the decision
 *        travels by PostgreSQL LISTEN/NOTIFY, with a re-read on each wake-up.
 *   POST /sessions/:monitoring_id/approvals/:approval_id/settle    SettleRequest -> ApprovalState
 *        The plugin saw the request end without the phone (answered at the terminal, hook timed out,
 *        session over). First answer wins: when the phone settled it first, the answer says so
 *        (`decided_by: "phone"`) with 200, and the plugin's own view is ignored.
 */
import { z } from 'zod'

const Timestamp = z.iso.datetime({ offset: true })

/** Four characters of an unambiguous alphabet (Crockford base32): 20 bits, e.g. "K7QX". */
export const ApprovalTag = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{4,8}$/)

export const ApprovalKind = z.enum(['permission', 'question'])
export type ApprovalKind = z.infer<typeof ApprovalKind>

/** One question of Claude's AskUserQuestion tool (its `tool_input.questions[]`). */
export const ApprovalQuestion = z.object({
  question: z.string().min(1).max(2_000),
  header: z.string().max(200).optional(),
  options: z.array(z.object({ label: z.string().min(1).max(500), description: z.string().max(2_000).optional() })).max(20).default([]),
  multiSelect: z.boolean().default(false),
})
export type ApprovalQuestion = z.infer<typeof ApprovalQuestion>

export const ApprovalRequest = z.object({
  /** The plugin's id for this permission request (a uuid): retries repeat it. */
  request_id: z.string().min(1).max(200),
  kind: ApprovalKind,
  tool_name: z.string().min(1).max(200),
  /** What Claude wants to do, in a line: the command, the file path, the URL (the server redacts and clips it again). */
  summary: z.string().max(2_000).default(''),
  /** kind "question": the questions as AskUserQuestion gave them. */
  questions: z.array(ApprovalQuestion).max(4).optional(),
  cwd: z.string().max(4_096).optional(),
  /** When the PermissionRequest hook started (the dialog came up). */
  asked_at: Timestamp,
})
export type ApprovalRequest = z.infer<typeof ApprovalRequest>

export const ApprovalStatus = z.enum([
  'queued', // waiting behind an earlier unanswered request of this session
  'pending', // texted, nobody answered yet
  'allowed',
  'denied',
  'answered', // a question answered from the phone
  'settled_elsewhere', // answered at the terminal, timed out, or the session ended
  'refused', // approvals by text are off for this account or session: nothing texted
])
export type ApprovalStatus = z.infer<typeof ApprovalStatus>

export const DecidedBy = z.enum(['phone', 'terminal', 'timeout', 'session_end'])
export type DecidedBy = z.infer<typeof DecidedBy>

export const ApprovalState = z.object({
  approval_id: z.string(),
  request_id: z.string(),
  tag: ApprovalTag.nullable(),
  status: ApprovalStatus,
  sms_sent: z.boolean(),
  decided_by: DecidedBy.nullable(),
  decided_at: Timestamp.nullable(),
  /** denied from the phone: what to tell Claude ("Denied by text from +1***8912"). */
  message: z.string().nullable().optional(),
  /** kind "question", answered: question text -> option label(s) or the person's own words. */
  answers: z.record(z.string(), z.string()).nullable().optional(),
  refused_reason: z.enum(['account_disabled', 'session_disabled', 'daily_cap', 'opted_out']).nullable().optional(),
})
export type ApprovalState = z.infer<typeof ApprovalState>

export const SettleRequest = z.object({
  decided_by: z.enum(['terminal', 'timeout', 'session_end']),
  /** The hook that showed the request was over (PostToolUse, PermissionDenied, UserPromptSubmit, ...). */
  evidence: z.string().max(100).optional(),
  /** When known from the hooks: what the terminal decided. */
  decision: z.enum(['allowed', 'denied', 'unknown']).default('unknown'),
  settled_at: Timestamp,
})
export type SettleRequest = z.infer<typeof SettleRequest>

export const ApprovalPollQuery = z.object({
  wait: z.coerce.number().int().min(0).max(30).default(25),
})

/** Added to POST /sessions/start: turn approvals by text on for this session (opt-in, default off). */
export const StartApprovalsFields = z.object({
  approvals: z.boolean().optional(),
})
/** Added to the start answer: whether approvals by text are on (false when the account switch forbids them). */
export const StartApprovalsAnswer = z.object({
  approvals_enabled: z.boolean().optional(),
})

/** Per user and rolling 24 hours: at most this many request texts (server setting APPROVAL_DAILY_CAP). */
export const DEFAULT_APPROVAL_DAILY_CAP = 100
