-- Idempotency keys of steering commands (IETF draft "The Idempotency-Key HTTP Header Field"): per (user, key) the
-- request's fingerprint and, once a node has answered it, the answer (status and JSON body), kept 24 hours.
-- A row without status is a reservation: the node that received the request serves it now (`holder` tells its
-- reservation from a later one's). The node that applies the command stores the answer (src/db/idempotency.ts).
create table idempotency_keys (
  user_id      text not null references users(id) on delete cascade,
  key          text not null,
  fingerprint  text not null,
  holder       text,
  status       int,
  answer       json,
  created_at   timestamptz not null default now(),
  completed_at timestamptz,
  primary key (user_id, key)
);
create index idempotency_keys_created_at on idempotency_keys (created_at);
