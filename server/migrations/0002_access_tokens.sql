-- Access tokens (JWTs) by jti, so logout and STOP can revoke them before they expire.
create table access_tokens (
  jti uuid primary key,
  user_id uuid not null references users(id) on delete cascade,
  issued_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  device_fingerprint text
);
create index access_tokens_user on access_tokens (user_id) where revoked_at is null;
