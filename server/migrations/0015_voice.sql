-- Escalation by phone call: when a request text or a waiting text stays unanswered, one call reads it
-- out and (for a permission request) takes a keypress. Off by default; see server/voice/.
alter table user_settings
  add column call_for_requests boolean not null default false,
  add column call_for_waits boolean not null default false,
  add column call_after_minutes integer not null default 15 check (call_after_minutes between 5 and 120),
  add column calls_break_quiet_hours boolean not null default false;

-- One row per call, written before the provider is asked to place it: the unique columns make a second
-- call about the same request or wait impossible, whichever process or restart tries.
create table voice_calls (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users(id) on delete cascade,
  session_id uuid not null references monitoring_sessions(id) on delete cascade,
  approval_id uuid unique references approval_requests(id) on delete cascade,
  event_id uuid unique references session_events(id) on delete cascade,
  check ((approval_id is null) <> (event_id is null)),
  to_masked text not null,
  to_hash text not null,
  script text not null,                      -- what the call says (redacted, clipped under 30 seconds)
  transport text not null,                   -- twilio or console
  -- placing (claimed, provider not answered yet), not_placed (daily cap, provider refused),
  -- then Twilio's: queued, initiated, ringing, in-progress, completed, busy, no-answer, failed, canceled
  status text not null,
  provider_sid text unique,
  duration_seconds integer,
  keypress text,                             -- the last key pressed during the call
  outcome text,                              -- allowed, denied, already_settled, ... (what the keypress did)
  error_message text,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index voice_calls_user_created on voice_calls (user_id, created_at);
create index voice_calls_session on voice_calls (session_id, created_at);

-- Call statuses move forward only, like texts (sms_status_rank): late or repeated callbacks change nothing.
create function voice_status_rank(status text) returns integer language sql immutable as $$
  select case status
    when 'placing' then 0
    when 'queued' then 1 when 'initiated' then 1
    when 'ringing' then 2
    when 'in-progress' then 3 when 'answered' then 3
    when 'completed' then 10 when 'busy' then 10 when 'no-answer' then 10 when 'failed' then 10
    when 'canceled' then 10 when 'logged' then 10 when 'not_placed' then 10
    else 0 end
$$;

-- Twilio retries and replays the Gather result; one (CallSid, Digits) changes something once.
create table voice_keypresses (
  call_sid text not null,
  digits text not null,
  received_at timestamptz not null,
  reply text,                                -- the TwiML answered the first time, answered again to a replay
  primary key (call_sid, digits)
);
