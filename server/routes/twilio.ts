import { Router, type RequestHandler } from 'express'
import type { Sql } from 'postgres'
import twilio from 'twilio'
import { z } from 'zod'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { signOutEverywhere } from '../auth/sign-out-everywhere.js'
import { ApiError, methodNotAllowed, parseOr400 } from '../http/errors.js'
import { storableValue } from '../http/well-formed-input.js'
import type { SessionUpdates } from '../session-updates.js'
import type { Logger } from '../log.js'
import { heldEvents, markSummarised } from '../monitoring/events.js'
import { liveSessionsOfUser } from '../monitoring/sessions.js'
import { hashPhone } from '../phone.js'
import { formatDigest, type Charset } from '../sms/format.js'
import { parseInboundCommand } from '../sms/inbound-commands.js'
import { classifyFailure } from '../sms/policy.js'
import { BAD_PAUSE_REPLY, HELP_REPLY, NOT_PAIRED_REPLY, pauseReply, statusReply } from '../sms/replies.js'
import { endPause, markOptedOut, optBackIn, pauseUntil } from '../sms/subscription.js'
import { claimInboundMessage, rememberInboundReply } from '../sms/inbound-messages.js'

const InboundForm = z.object({
  From: z.string().min(1).max(40),
  Body: z.string().max(2_000).default(''),
  // Twilio sends it with every message; it is what makes a replay recognisable.
  MessageSid: z.string().min(1).max(64),
})

const StatusForm = z.object({
  MessageSid: z.string().min(1).max(64),
  MessageStatus: z.string().min(1).max(32).transform((s) => s.toLowerCase()),
  ErrorCode: z
    .string()
    .regex(/^\d{1,6}$/)
    .transform(Number)
    .optional()
    .or(z.literal('').transform(() => undefined)),
})

/** POST /twilio/inbound (replies from phones) and POST /twilio/status (delivery receipts), both signed by Twilio. */
export function twilioRouter(deps: {
  config: Config
  sql: Sql
  clock: Clock
  log: Logger
  charset: Charset
  updates?: SessionUpdates
  /** Answers to approval requests (server/approvals/phone-replies.ts): the reply to text back, or undefined when the text is not one. */
  replyFromPhone?: (user: { id: string }, from: string, body: string) => Promise<string | undefined>
}): Router {
  const { config, sql, clock, log } = deps
  const router = Router()
  const signed = verifyTwilioSignature(config)

  router
    .route('/twilio/inbound')
    .post(signed, async (req, res) => {
      const form = parseOr400(InboundForm, req.body, 'Twilio form')
      const now = clock.now()
      const replay = await claimInboundMessage(sql, form.MessageSid, now)
      if (!replay.first) {
        req.log.info({ sid: form.MessageSid }, 'replayed text from a phone ignored')
        res.type('text/xml').send(replay.reply ?? new twilio.twiml.MessagingResponse().toString())
        return
      }
      const command = parseInboundCommand(form.Body)
      const [user] = await sql<{ id: string; opted_out_at: Date | null; paused_until: Date | null }[]>`
        select id, opted_out_at, paused_until from users where phone_hash = ${hashPhone(form.From, config.pepper)}`
      const reply = new twilio.twiml.MessagingResponse()
      req.log.info({ command: command.kind, known: Boolean(user) }, 'text from a phone')

      if (!user) {
        if (command.kind !== 'stop' && command.kind !== 'start') reply.message(NOT_PAIRED_REPLY)
      } else {
        switch (command.kind) {
          // Twilio confirms STOP and START itself (and blocks the number at its end): no reply of ours.
          case 'stop':
            await markOptedOut(sql, user.id, now)
            // A phone that says STOP is done with us: every pairing and dashboard sign-in of the number ends.
            await signOutEverywhere({ sql, updates: deps.updates }, user.id, { reason: 'opted_out', now })
            break
          case 'start':
            await optBackIn(sql, user.id)
            break
          case 'help':
            reply.message(HELP_REPLY)
            break
          case 'unknown': {
            // Y K7QX, N K7QX, 2 K7QX...: an answer to an approval request; anything else gets the help text.
            const answer = await deps.replyFromPhone?.(user, form.From, form.Body)
            reply.message(answer ?? HELP_REPLY)
            break
          }
          case 'status':
            reply.message(statusReply(await liveSessionsOfUser(sql, user.id), { optedOutAt: user.opted_out_at, pausedUntil: user.paused_until }, now, deps.charset))
            break
          case 'pause': {
            const until = new Date(now.getTime() + command.ms)
            await pauseUntil(sql, user.id, until)
            reply.message(pauseReply(until, now))
            break
          }
          case 'bad_pause':
            reply.message(BAD_PAUSE_REPLY)
            break
          case 'resume': {
            await endPause(sql, user.id)
            // The reply itself is the summary of what was held.
            const held = await heldEvents(sql, user.id)
            if (held.summary) {
              reply.message(formatDigest(held.summary, deps.charset, now, { resumed: true }))
              await markSummarised(sql, held.ids, now, null)
            } else reply.message('Texts resumed. Nothing was held back.')
            break
          }
        }
      }
      const twiml = reply.toString()
      await rememberInboundReply(sql, form.MessageSid, twiml)
      res.type('text/xml').send(twiml)
    })
    .all(methodNotAllowed(['POST']))

  router
    .route('/twilio/status')
    .post(signed, async (req, res) => {
      const form = parseOr400(StatusForm, req.body, 'Twilio status callback')
      // Moves forward only (sms_status_rank in 0004_monitoring.sql): late or repeated receipts change nothing.
      const [updated] = await sql<{ id: string; user_id: string | null; status: string }[]>`
        update sms_messages
        set status = ${form.MessageStatus}, error_code = coalesce(${form.ErrorCode ?? null}::integer, error_code), updated_at = ${clock.now()}
        where provider_sid = ${form.MessageSid} and sms_status_rank(${form.MessageStatus}) > sms_status_rank(status)
        returning id, user_id, status`
      if (!updated) {
        log.debug({ sid: form.MessageSid, status: form.MessageStatus }, 'delivery receipt ignored (unknown text, or not newer than what we have)')
      } else if ((updated.status === 'failed' || updated.status === 'undelivered') && form.ErrorCode !== undefined && updated.user_id) {
        if (classifyFailure(form.ErrorCode, false) === 'opted_out') {
          await markOptedOut(sql, updated.user_id, clock.now())
          log.warn({ user_id: updated.user_id, code: form.ErrorCode }, 'delivery receipt says the number opted out: no more texts until START')
        }
      }
      // The dashboard shows each text's delivery status as it changes.
      if (updated?.user_id) deps.updates?.publish({ userId: updated.user_id, monitoringId: null, kind: 'sms_status' })
      res.status(204).end()
    })
    .all(methodNotAllowed(['POST']))

  return router
}

/**
 * X-Twilio-Signature over PUBLIC_URL + the request's path and query (what Twilio was configured with):
 * behind a TLS proxy the URL Express sees is not the one Twilio signed. 403 without a valid signature;
 * 503 when this server has no Twilio auth token to check with.
 */
export function verifyTwilioSignature(config: Config): RequestHandler {
  return (req, _res, next) => {
    if (!config.twilio) {
      throw new ApiError(503, 'service_unavailable', 'Twilio is not configured on this server: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER to receive Twilio webhooks.')
    }
    const signature = req.header('x-twilio-signature')
    const params = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, string>) : {}
    if (!signature || !req.is('application/x-www-form-urlencoded') || !twilio.validateRequest(config.twilio.authToken, signature, `${config.publicUrl}${req.originalUrl}`, params)) {
      throw new ApiError(403, 'forbidden', 'This request is not signed by Twilio for this server (check PUBLIC_URL and TWILIO_AUTH_TOKEN).')
    }
    // Signed over the raw values; from here on they must be storable (server/http/well-formed-input.ts).
    req.body = storableValue(params)
    next()
  }
}
