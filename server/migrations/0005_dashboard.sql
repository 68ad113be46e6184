-- Web dashboard: cookie sessions after an SMS-code login. Only a SHA-256 of the cookie value is kept,
-- so a copy of this table opens no session.
create table dashboard_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users(id) on delete cascade,
  token_hash text not null unique,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz
);
create index dashboard_sessions_user on dashboard_sessions (user_id) where revoked_at is null;

-- Dashboard sign-in reuses pairing's code machinery (hashed codes, 5 tries, send limits); a code only
-- works for what it was sent for, so a pairing code never opens the dashboard and the other way round.
alter table pairing_requests add column purpose text not null default 'pairing' check (purpose in ('pairing', 'dashboard'));

-- Settings page: quiet hours (texts held, one summary when they end), the done threshold.
alter table user_settings
  add column quiet_hours_enabled boolean not null default false,
  add column quiet_start text not null default '22:00' check (quiet_start ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  add column quiet_end text not null default '07:00' check (quiet_end ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  add column time_zone text not null default 'UTC',
  add column quiet_allow_waiting boolean not null default false,
  -- set when a text is held for quiet hours: the summary is due then (claimed once, like users.paused_until)
  add column quiet_digest_due_at timestamptz,
  add column done_threshold_minutes integer not null default 0 check (done_threshold_minutes between 0 and 1440);
create index user_settings_quiet_digest_due on user_settings (quiet_digest_due_at) where quiet_digest_due_at is not null;

-- Events held for quiet hours count as held (told in the next text or the summary), like paused ones.
drop index session_events_held;
create index session_events_held on session_events (user_id, event_type, received_at)
  where summarised_at is null and outcome in ('rate_limited', 'paused', 'send_failed', 'quiet_hours');
