-- Monitoring: the sessions the plugin watches, what they reported, and the per-user text rate limit.

-- Per-user switches. No row means every default; the dashboard migration adds more columns.
create table user_settings (
  user_id uuid primary key references users(id) on delete cascade,
  went_dark_alerts boolean not null default true
);

create table monitoring_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users(id) on delete cascade,
  claude_session_id text not null,
  description text not null,
  hostname text,
  project text,
  session_token_hash text not null unique,   -- SHA-256 of the 32-byte session token; the token itself is never stored
  status text not null default 'active' check (status in ('active', 'stale', 'stopped')),
  heartbeat_interval_ms integer not null default 30000,
  started_at timestamptz not null,
  last_heartbeat_at timestamptz not null,
  last_activity_at timestamptz,
  stale_at timestamptz,
  stopped_at timestamptz,
  stop_reason text,                          -- user_stopped, session_end, logout, ...
  final_state text,
  created_at timestamptz not null default now()
);
-- One live (active or stale) session per Claude session and user: a second start is a 409.
create unique index monitoring_sessions_live on monitoring_sessions (user_id, claude_session_id) where status <> 'stopped';
create index monitoring_sessions_heartbeat on monitoring_sessions (last_heartbeat_at) where status = 'active';
create index monitoring_sessions_user on monitoring_sessions (user_id, created_at desc);

create table session_events (
  id uuid primary key default gen_random_uuid(),
  session_id uuid not null references monitoring_sessions(id) on delete cascade,
  user_id uuid not null references users(id) on delete cascade,
  event_id text,                             -- the client's idempotency key
  event_type text not null check (event_type in ('error', 'done', 'waiting', 'went_dark')),
  occurred_at timestamptz not null,
  received_at timestamptz not null,
  details jsonb not null default '{}',
  -- pending (being handled), sent, rate_limited, paused, opted_out, disabled, undeliverable, send_failed
  outcome text not null default 'pending',
  sms_id uuid references sms_messages(id) on delete set null,
  summarised_at timestamptz,                 -- a later text (or RESUME reply) told the user about this held event
  summary_sms_id uuid references sms_messages(id) on delete set null,
  response_status integer,                   -- the first answer, replayed for a repeated event_id
  response_body jsonb,
  unique (session_id, event_id)
);
create index session_events_held on session_events (user_id, event_type, received_at)
  where summarised_at is null and outcome in ('rate_limited', 'paused', 'send_failed');
create index session_events_session on session_events (session_id, received_at);

-- 1 text per 30 minutes per user and event type; see server/monitoring/rate-limit.ts.
create table sms_rate_limit (
  user_id uuid not null references users(id) on delete cascade,
  event_type text not null,
  last_sent_at timestamptz not null,
  primary key (user_id, event_type)
);

-- Delivery receipts arrive late, twice, or out of order: a text only moves forward through these
-- ranks, and never leaves a final state (delivered, undelivered, failed, canceled). Our own
-- pre-provider "sending" shares Twilio's rank for "sending".
create function sms_status_rank(status text) returns integer language sql immutable as $$
  select case status
    when 'accepted' then 1 when 'scheduled' then 1
    when 'queued' then 2
    when 'sending' then 3
    when 'sent' then 4
    when 'partially_delivered' then 5
    when 'delivered' then 10 when 'undelivered' then 10 when 'failed' then 10 when 'canceled' then 10
    when 'read' then 10 when 'logged' then 10
    else 0 end
$$;
