-- Pairing by SMS code: one row per code sent. The temp token and the code are stored only as hashes
-- (SHA-256 of the 32-byte token; HMAC-SHA256 with the server pepper of the code), so a database dump
-- cannot be used to pair.
create table pairing_requests (
  id uuid primary key default gen_random_uuid(),
  temp_token_hash text not null unique,
  code_hash text not null,
  phone_e164 text not null,                  -- the user is created from it only once the code is proven
  phone_masked text not null,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  attempts integer not null default 0 check (attempts >= 0),
  consumed_at timestamptz,                   -- the code worked; it never works again
  voided_at timestamptz                      -- the text could not be sent
);
create index pairing_requests_expires on pairing_requests (expires_at);

-- Every pairing text asked for, kept 24 h: the send limits against SMS pumping count these rows.
create table pairing_sends (
  id bigint generated always as identity primary key,
  phone_hash text not null,                  -- HMAC of the number (server/phone.ts hashPhone)
  ip_hash text not null,                     -- HMAC of the client address; the address itself is not kept
  sent_at timestamptz not null
);
create index pairing_sends_phone on pairing_sends (phone_hash, sent_at desc);
create index pairing_sends_ip on pairing_sends (ip_hash, sent_at desc);
create index pairing_sends_sent on pairing_sends (sent_at desc);
