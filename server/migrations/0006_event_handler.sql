-- Which server process is handling a pending event (its PostgreSQL application_name, see
-- server/db/connect.ts), so a retry can take over at once an event whose handler is gone (crashed
-- process, or a request that failed mid-way) instead of waiting for the 30 s fallback.
alter table session_events add column handler text;
