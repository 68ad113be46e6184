-- The specification's dashboard queries, kept runnable against this schema (docs/database.md):
--   SELECT * FROM sessions WHERE user_phone = '+1234567890';
--   SELECT * FROM sms_events WHERE session_id = 123;
--   SELECT COUNT(*), SUM(sms_sent_count), AVG(EXTRACT(EPOCH FROM (ended_at - started_at))) FROM sessions ...
-- The tables keep their own names (monitoring_sessions, session_events, sms_messages); `sessions` and
-- `sms_events` are read-only views over them. Each joins two tables, so PostgreSQL cannot update
-- through them: writing stays with the server.

-- A short number for a session, beside its uuid (the API's monitoring_id): what an operator types.
-- Adding an identity column numbers the sessions already stored, in no particular order.
alter table monitoring_sessions add column session_number bigint generated always as identity;
alter table monitoring_sessions add constraint monitoring_sessions_number unique (session_number);

create view sessions as
select
  s.session_number as id,
  s.id as monitoring_id,
  u.phone_e164 as user_phone,
  u.phone_masked as user_phone_masked,
  s.claude_session_id,
  s.description,
  s.project,
  s.hostname,
  s.status,
  s.started_at,
  s.stopped_at as ended_at,                  -- null while the session is monitored (or stale)
  s.stop_reason,
  -- null until the first heartbeat: starting a session sets last_heartbeat_at to its creation time
  nullif(s.last_heartbeat_at, s.created_at) as last_heartbeat_at,
  -- counted as the stop answer's session_summary.sms_sent counts (server/monitoring/sessions.ts)
  (select count(*) from session_events e left join sms_messages m on m.id = e.sms_id
    where e.session_id = s.id and e.sms_id is not null and m.status <> 'failed')::integer as sms_sent_count,
  (select count(*) from session_events e where e.session_id = s.id)::integer as event_count,
  (select count(*) from session_events e where e.session_id = s.id and e.event_type = 'error')::integer as error_count
from monitoring_sessions s
join users u on u.id = s.user_id;

create view sms_events as
select
  s.session_number as session_id,
  s.id as monitoring_id,
  e.id as event_id,
  e.event_type,                              -- error, done, waiting, went_dark
  e.occurred_at,
  e.received_at,
  e.outcome,                                 -- sent, rate_limited, paused, quiet_hours, opted_out, ...
  (e.sms_id is not null and m.status <> 'failed') as sms_sent,
  m.id as sms_id,
  m.status as sms_status,                    -- delivery receipt: queued, sent, delivered, undelivered, failed
  m.body as sms_body,
  m.segments as sms_segments,
  m.to_masked,
  m.error_code as sms_error_code,
  m.created_at as sms_created_at,
  e.details
from session_events e
join monitoring_sessions s on s.id = e.session_id
left join sms_messages m on m.id = e.sms_id;
