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
