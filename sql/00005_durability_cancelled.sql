-- Cancelling or failing a spec gives its unfinished tasks and tickets a final status: `cancelled`.
alter table tickets drop constraint tickets_status_check;
alter table tickets add constraint tickets_status_check
  check (status in ('backlog', 'building', 'testing', 'done', 'blocked', 'cancelled'));
alter table tasks drop constraint tasks_status_check;
alter table tasks add constraint tasks_status_check
  check (status in ('pending', 'queued', 'running', 'completed', 'failed', 'blocked', 'cancelled'));
