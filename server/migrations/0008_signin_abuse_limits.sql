-- Sign-in abuse limits (server/pairing/send-limits.ts, server/pairing/wrong-codes.ts).

-- Codes to numbers already paired have a daily budget of their own (PAIRED_SIGNIN_DAILY_CAP), apart
-- from the cap for everyone else (PAIRING_DAILY_CAP).
alter table pairing_sends add column paired boolean not null default false;

-- Every wrong pairing or dashboard sign-in code, per number, kept 24 h: guessing spread over many
-- temp tokens is counted here (WRONG_CODES_PER_DAY).
create table wrong_codes (
  id bigint generated always as identity primary key,
  phone_hash text not null,                  -- HMAC of the number (server/phone.ts hashPhone)
  failed_at timestamptz not null
);
create index wrong_codes_phone on wrong_codes (phone_hash, failed_at desc);

-- A number whose sign-in is locked after too many wrong codes; the person is told once per lock.
create table sign_in_locks (
  phone_hash text primary key,
  locked_at timestamptz not null,
  locked_until timestamptz not null
);
