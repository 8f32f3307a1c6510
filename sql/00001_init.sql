-- The whole schema of omoi. Ids are text (prefix + ULID) unless they are producer UUIDs.

create table users (
  id            text primary key,
  email         text not null unique,
  name          text not null,
  password_hash text not null,
  role          text not null default 'user' check (role in ('user', 'admin')),
  created_at    timestamptz not null default now()
);

-- lucia v3 session table (the postgres adapter reads id, user_id, expires_at).
create table sessions (
  id         text primary key,
  user_id    text not null references users(id) on delete cascade,
  expires_at timestamptz not null
);
create index sessions_user_id on sessions (user_id);

create table projects (
  id             text primary key,
  owner_id       text not null references users(id),
  name           text not null,
  repo_url       text,
  default_branch text not null default 'main',
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);
create index projects_owner_id on projects (owner_id);

create table project_members (
  project_id text not null references projects(id) on delete cascade,
  user_id    text not null references users(id) on delete cascade,
  role       text not null check (role in ('viewer', 'editor')),
  created_at timestamptz not null default now(),
  primary key (project_id, user_id)
);
create index project_members_user_id on project_members (user_id);

create table specs (
  id            text primary key,
  project_id    text references projects(id),
  user_id       text not null references users(id),
  title         text not null,
  description   text not null,
  status        text not null default 'draft'
                check (status in ('draft', 'executing', 'paused', 'awaiting_approval', 'completed', 'failed', 'cancelled')),
  current_phase text not null default 'explore'
                check (current_phase in ('explore', 'requirements', 'design', 'tasks', 'sync', 'execute', 'done')),
  approval      text not null default 'auto' check (approval in ('auto', 'manual')),
  budget_usd    numeric(12, 4),
  cost_usd      numeric(14, 6) not null default 0,
  input_tokens  bigint not null default 0,
  output_tokens bigint not null default 0,
  -- the last seq given to an event of this spec: the row lock on it serializes appends, so seq has no gaps
  last_seq      bigint not null default 0,
  kind          text not null default 'spec' check (kind in ('spec', 'quick')),
  -- per-phase summary kept by the actor host: [{phase, status, attempts, eval_score, started_at, ended_at}]
  phases        jsonb not null default '[]',
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);
create index specs_project_id on specs (project_id);
create index specs_user_id on specs (user_id);

-- The persisted XState snapshot of each spec's actor, and the lease of the node running it.
create table spec_actors (
  spec_id          text primary key references specs(id) on delete cascade,
  snapshot         jsonb not null,
  version          bigint not null,
  state            text not null,
  final            boolean not null default false,
  owner_node       text,
  lease_expires_at timestamptz,
  started_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now()
);
create index spec_actors_live on spec_actors (final, lease_expires_at);

create table sandbox_events (
  seq        bigint not null,
  id         uuid primary key,
  spec_id    text not null references specs(id) on delete cascade,
  sandbox_id text,
  type       text not null,
  data       jsonb not null default '{}',
  source     text not null check (source in ('system', 'agent', 'user')),
  created_at timestamptz not null default now(),
  unique (spec_id, seq)
);
create index sandbox_events_spec_type on sandbox_events (spec_id, type, seq);

create table sandboxes (
  id                text primary key,
  spec_id           text not null references specs(id) on delete cascade,
  kind              text not null check (kind in ('phase', 'task')),
  phase             text,
  task_id           text,
  attempt           integer not null,
  -- how many times this phase attempt / task attempt had its sandbox replaced before this one
  generation        integer not null default 0,
  token_hash        text not null unique,
  status            text not null default 'starting' check (status in ('starting', 'running', 'ended')),
  provider          text not null,
  external_id       text,
  end_reason        text,
  last_heartbeat_at timestamptz,
  created_at        timestamptz not null default now(),
  ended_at          timestamptz
);
create index sandboxes_spec_live on sandboxes (spec_id, status);

-- Every submission a sandbox posted, with the evaluator's verdict. `id` is the worker's result UUID.
create table phase_results (
  id         uuid primary key,
  spec_id    text not null references specs(id) on delete cascade,
  sandbox_id text not null references sandboxes(id) on delete cascade,
  phase      text not null,
  task_id    text,
  attempt    integer not null,
  outcome    text not null check (outcome in ('submitted', 'failed')),
  output     jsonb,
  error      text,
  score      numeric(4, 2),
  accepted   boolean not null,
  feedback   text not null default '',
  usage      jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index phase_results_spec on phase_results (spec_id, phase, created_at);

create table tickets (
  id           text primary key,
  spec_id      text not null references specs(id) on delete cascade,
  user_id      text not null references users(id),
  project_id   text references projects(id),
  key          text not null,
  title        text not null,
  description  text not null,
  status       text not null default 'backlog' check (status in ('backlog', 'building', 'testing', 'done', 'blocked')),
  priority     text not null default 'medium' check (priority in ('critical', 'high', 'medium', 'low')),
  requirements jsonb not null default '[]',
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  unique (spec_id, key)
);
create index tickets_user_id on tickets (user_id);
create index tickets_project_id on tickets (project_id);

create table tasks (
  id             text primary key,
  spec_id        text not null references specs(id) on delete cascade,
  ticket_id      text not null references tickets(id) on delete cascade,
  key            text not null,
  title          text not null,
  description    text not null,
  depends_on     jsonb not null default '[]',
  requirements   jsonb not null default '[]',
  files          jsonb not null default '[]',
  estimate_hours numeric(8, 2),
  status         text not null default 'pending'
                 check (status in ('pending', 'queued', 'running', 'completed', 'failed', 'blocked')),
  attempts       integer not null default 0,
  branch         text,
  result         jsonb,
  error          text,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  unique (spec_id, key)
);
create index tasks_ticket_id on tasks (ticket_id);

-- The accepted output of each phase (exploration, requirements, design, tasks, sync): what GET /specs/:id/artifacts shows.
create table spec_artifacts (
  spec_id    text not null references specs(id) on delete cascade,
  kind       text not null check (kind in ('exploration', 'requirements', 'design', 'tasks', 'sync')),
  output     jsonb not null,
  attempt    integer not null,
  score      numeric(4, 2),
  updated_at timestamptz not null default now(),
  primary key (spec_id, kind)
);
