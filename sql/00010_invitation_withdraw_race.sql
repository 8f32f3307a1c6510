-- An invitation becomes a membership only if the signup's trigger itself deletes it. The trigger used to read the
-- invitation, add the membership, then delete it: a withdrawal (DELETE /projects/:id/invitations/:email) committing
-- in between answered 204 and the new user was a member all the same. Deleting first and adding the members from the
-- rows it deleted makes the two exclusive: whichever deletes the row wins, and the other finds nothing
-- (the withdrawal answers 404).
create or replace function omoi_accept_invitations() returns trigger language plpgsql as $$
begin
  with taken as (
    delete from project_invitations where email = lower(new.email) returning project_id, role
  )
  insert into project_members (project_id, user_id, role)
    select t.project_id, new.id, t.role
    from taken t
    join projects p on p.id = t.project_id
    where p.owner_id <> new.id
  on conflict (project_id, user_id) do nothing;
  return new;
end
$$;
