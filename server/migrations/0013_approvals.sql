-- Answering from the phone: permission requests and Claude's questions texted with a tag, settled by
-- a reply, at the terminal, by the hook's timeout or by the session's end (contract/approvals.ts).
create table approval_requests (
  id uuid primary key default gen_random_uuid(),
  session_id uuid not null references monitoring_sessions(id) on delete cascade,
  user_id uuid not null references users(id) on delete cascade,
  request_id text not null,                  -- the plugin's idempotency key
  kind text not null check (kind in ('permission', 'question')),
  tool_name text not null,
  summary text not null default '',          -- redacted before it is stored
  questions jsonb,
  cwd text,
  asked_at timestamptz not null,
  created_at timestamptz not null,
  status text not null check (status in ('queued', 'pending', 'allowed', 'denied', 'answered', 'settled_elsewhere', 'refused')),
  refused_reason text check (refused_reason in ('account_disabled', 'session_disabled', 'daily_cap', 'opted_out')),
  held_reason text,                          -- queued while paused or in quiet hours
  tag text,                                  -- set when texted; never reused for the same user
  texted_to_hash text,                       -- hash of the number the request was texted to: only it may answer
  texted_at timestamptz,
  sms_id uuid references sms_messages(id) on delete set null,
  sms_sent boolean not null default false,
  decided_by text check (decided_by in ('phone', 'terminal', 'timeout', 'session_end')),
  decided_at timestamptz,
  terminal_decision text,                    -- what the plugin knew of the terminal's answer: allowed, denied, unknown
  evidence text,
  decision_message text,
  answers jsonb,
  reply_text text,                           -- the phone's reply as received (redacted), for the dashboard
  unique (session_id, request_id)
);
create unique index approval_requests_user_tag on approval_requests (user_id, tag) where tag is not null;
create index approval_requests_session_open on approval_requests (session_id, created_at) where status in ('queued', 'pending');
create index approval_requests_user_pending on approval_requests (user_id, texted_at) where status = 'pending';
create index approval_requests_user_texted on approval_requests (user_id, texted_at) where texted_at is not null;

alter table monitoring_sessions add column approvals_enabled boolean not null default false;
-- The dashboard's "Never accept approvals by text": account-wide, wins over every session's opt-in.
alter table user_settings add column approvals_disabled boolean not null default false;

-- Twilio retries and replays webhooks; a MessageSid seen once changes nothing the second time.
create table inbound_messages (
  message_sid text primary key,
  received_at timestamptz not null,
  reply text                                 -- the TwiML answered the first time, answered again to a replay
);
create index inbound_messages_received on inbound_messages (received_at);
