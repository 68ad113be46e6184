-- Token families: one per successful pairing (/auth/exchange). Every token that /auth/refresh issues
-- belongs to the family of the token it was refreshed from, so logout revokes the whole chain at once
-- and no chain of refreshes outlives the family's absolute end (TOKEN_FAMILY_MAX_DAYS).
create table token_families (
  id uuid primary key,
  user_id uuid not null references users(id) on delete cascade,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoke_reason text
);
create index token_families_user on token_families (user_id) where revoked_at is null;

-- Tokens issued before families existed each become the root of their own family (id = their jti),
-- ending 30 days (the default TOKEN_FAMILY_MAX_DAYS) after they were issued.
insert into token_families (id, user_id, created_at, expires_at, revoked_at)
select jti, user_id, issued_at, issued_at + interval '30 days', revoked_at from access_tokens;

alter table access_tokens
  add column family_id uuid references token_families(id) on delete cascade,
  -- the token this one was refreshed from (null for the token /auth/exchange issued)
  add column parent_jti uuid,
  -- set when this token was refreshed: it keeps working for a short grace, then only its child does
  add column rotated_at timestamptz;
update access_tokens set family_id = jti;
alter table access_tokens alter column family_id set not null;
create index access_tokens_family on access_tokens (family_id) where revoked_at is null;
