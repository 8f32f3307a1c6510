-- Sessions are now stored by the SHA-256 of their token (src/auth/sessions.ts). Stored ids were plain tokens: every
-- one of them is invalidated (everyone logs in again).
delete from sessions;
alter table sessions
  add column created_at timestamptz not null default now(),
  add column user_agent text;
