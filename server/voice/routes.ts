import { Router, type ErrorRequestHandler } from 'express'
import type { Sql } from 'postgres'
import twilio from 'twilio'
import { z } from 'zod'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import { ApiError, methodNotAllowed, parseOr400 } from '../http/errors.js'
import type { Logger } from '../log.js'
import { verifyTwilioSignature } from '../routes/twilio.js'
import type { SessionUpdates } from '../session-updates.js'
import type { CallAnswers } from './keypress.js'
import { advanceCallStatus, findCall, type CallRow } from './store.js'

const CallSid = z.string().regex(/^[A-Za-z0-9]{2,64}$/)

const AnsweredForm = z.object({ CallSid })
const GatherForm = z.object({ CallSid, Digits: z.string().regex(/^[0-9*#]{0,8}$/).default('') })
const StatusForm = z.object({
  CallSid,
  CallStatus: z.enum(['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'failed', 'canceled']),
  CallDuration: z
    .string()
    .regex(/^\d{1,7}$/)
    .transform(Number)
    .optional(),
})

/** Twilio says this when our TwiML cannot be made: always valid TwiML, never a stack trace. */
function apology(): string {
  const twiml = new twilio.twiml.VoiceResponse()
  twiml.say('Sorry, this call cannot go on. Answer at the terminal. Goodbye.')
  return twiml.toString()
}

/**
 * The voice webhooks, signed by Twilio like the SMS ones: the call's TwiML when answered, the Gather
 * result (a keypress), and the call's status callbacks.
 */
export function voiceRouter(deps: { config: Config; sql: Sql; clock: Clock; log: Logger; answers: CallAnswers; updates?: SessionUpdates }): Router {
  const { config, sql, clock } = deps
  const router = Router()
  const signed = verifyTwilioSignature(config)

  /** The call the URL names, when the request comes from that very call (the CallSid Twilio gave it). */
  async function callOf(id: string, callSid: string): Promise<CallRow | undefined> {
    const call = await findCall(sql, id)
    if (!call) return undefined
    // The TwiML may be fetched before our own request to place the call has returned with the sid.
    if (!call.provider_sid) {
      await sql`update voice_calls set provider_sid = ${callSid} where id = ${call.id} and provider_sid is null`
      return { ...call, provider_sid: callSid }
    }
    return call.provider_sid === callSid ? call : undefined
  }

  router
    .route('/twilio/voice/calls/:id')
    .post(signed, async (req, res) => {
      const form = parseOr400(AnsweredForm, req.body, 'Twilio voice request')
      const call = await callOf(String(req.params.id), form.CallSid)
      res.type('text/xml').send(call ? await deps.answers.answered(call) : apology())
    })
    .all(methodNotAllowed(['POST']))

  router
    .route('/twilio/voice/calls/:id/gather')
    .post(signed, async (req, res) => {
      const form = parseOr400(GatherForm, req.body, 'Twilio Gather result')
      const call = await callOf(String(req.params.id), form.CallSid)
      if (!call) return void res.type('text/xml').send(apology())
      res.type('text/xml').send(await pressKey(deps, call, form.CallSid, form.Digits))
    })
    .all(methodNotAllowed(['POST']))

  router
    .route('/twilio/voice/status')
    .post(signed, async (req, res) => {
      const form = parseOr400(StatusForm, req.body, 'Twilio call status callback')
      const updated = await advanceCallStatus(sql, form.CallSid, { status: form.CallStatus, durationSeconds: form.CallDuration, at: clock.now() })
      if (updated) deps.updates?.publish({ userId: updated.user_id, monitoringId: updated.session_id, kind: 'call' })
      else req.log.debug({ sid: form.CallSid, status: form.CallStatus }, 'call status ignored (unknown call, or not newer than what we have)')
      res.status(204).end()
    })
    .all(methodNotAllowed(['POST']))

  // Twilio reads TwiML: past the signature check, a failure is said on the call, not thrown at it.
  const twimlErrors: ErrorRequestHandler = (err: unknown, req, res, next) => {
    if (res.headersSent || (err instanceof ApiError && (err.status === 403 || err.status === 503 || err.status === 405))) return next(err)
    if (!(err instanceof ApiError)) (req.log ?? deps.log).error({ err }, 'voice webhook failed')
    if (req.path === '/twilio/voice/status') return next(err)
    res.status(200).type('text/xml').send(apology())
  }
  router.use('/twilio/voice', twimlErrors)
  return router
}

/**
 * A keypress, once: Twilio retries and replays the Gather result, and a (CallSid, Digits) already seen
 * gets the first answer again without acting twice. The console outbox's "simulate keypress" comes here too.
 */
export async function pressKey(deps: { sql: Sql; clock: Clock; answers: CallAnswers }, call: CallRow, callSid: string, digits: string): Promise<string> {
  const { sql } = deps
  const [first] = await sql<{ call_sid: string }[]>`
    insert into voice_keypresses (call_sid, digits, received_at) values (${callSid}, ${digits}, ${deps.clock.now()})
    on conflict do nothing returning call_sid`
  if (!first) {
    const [seen] = await sql<{ reply: string | null }[]>`select reply from voice_keypresses where call_sid = ${callSid} and digits = ${digits}`
    return seen?.reply ?? apology()
  }
  const { twiml } = await deps.answers.pressed(call, digits)
  await sql`update voice_keypresses set reply = ${twiml} where call_sid = ${callSid} and digits = ${digits}`
  return twiml
}
