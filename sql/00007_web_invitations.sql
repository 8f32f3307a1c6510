-- Members invited by email before they have an account (POST /projects/:id/members with an unknown email).
-- The invitation becomes a membership the moment a user with that email is created, however they are created.
create table project_invitations (
  project_id text not null references projects(id) on delete cascade,
  email      text not null,
  role       text not null check (role in ('viewer', 'editor')),
  invited_by text not null references users(id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (project_id, email)
);
create index project_invitations_email on project_invitations (email);

create function omoi_accept_invitations() returns trigger language plpgsql as $$
begin
  insert into project_members (project_id, user_id, role)
    select i.project_id, new.id, i.role
    from project_invitations i
    join projects p on p.id = i.project_id
    where i.email = lower(new.email) and p.owner_id <> new.id
  on conflict (project_id, user_id) do nothing;
  delete from project_invitations where email = lower(new.email);
  return new;
end
$$;

create trigger users_accept_invitations after insert on users
  for each row execute function omoi_accept_invitations();
