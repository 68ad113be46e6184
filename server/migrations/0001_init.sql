-- Shared by every part of the server: the people we text, and every text we send.

create table users (
  id uuid primary key default gen_random_uuid(),
  phone_e164 text not null unique,           -- needed to send; never logged (logs mask it)
  phone_hash text not null unique,           -- HMAC of the number, for lookups from webhooks
  phone_masked text not null,                -- "+1***8912", what the product shows
  created_at timestamptz not null default now(),
  opted_out_at timestamptz,                  -- STOP received or Twilio 21610; nothing is sent until START
  paused_until timestamptz                   -- PAUSE <duration>; texts held and summarised afterwards
);

create table sms_messages (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references users(id) on delete set null,
  kind text not null,                        -- pairing_code, event, digest, went_dark, reply, test
  to_masked text not null,
  to_hash text not null,
  body text not null,                        -- pairing codes are stored with the code blanked out
  segments integer not null,
  encoding text not null check (encoding in ('GSM-7', 'UCS-2')),
  transport text not null,                   -- twilio, console
  status text not null,                      -- sending, queued, accepted, sent, delivered, undelivered, failed, logged
  provider_sid text unique,
  error_code integer,
  error_message text,
  attempts integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index sms_messages_user_created on sms_messages (user_id, created_at desc);
create index sms_messages_created on sms_messages (created_at desc);
