-- Prompt caching: a spec's tokens count cache reads and cache writes apart from plain input (each has its own price).
alter table specs add column if not exists cache_read_tokens bigint not null default 0;
alter table specs add column if not exists cache_write_tokens bigint not null default 0;
