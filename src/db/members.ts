import type { Sql } from './connect.ts'

/** A project member as the members routes answer it; the owner is listed with role `owner`. */
export interface MemberView {
  user_id: string
  email: string
  name: string
  role: 'owner' | 'editor' | 'viewer'
  created_at: Date
}

export interface InvitationRow {
  project_id: string
  email: string
  role: 'viewer' | 'editor'
  created_at: Date
}

/** The owner first, then members by when they were added. */
export async function listMembers(sql: Sql, projectId: string): Promise<MemberView[]> {
  const owner = await sql<MemberView[]>`
    select u.id as user_id, u.email, u.name, 'owner' as role, p.created_at
    from projects p join users u on u.id = p.owner_id
    where p.id = ${projectId}`
  const members = await sql<MemberView[]>`
    select u.id as user_id, u.email, u.name, m.role, m.created_at
    from project_members m join users u on u.id = m.user_id
    where m.project_id = ${projectId}
    order by m.created_at, u.id`
  return [...owner, ...members]
}

export async function listInvitations(sql: Sql, projectId: string): Promise<InvitationRow[]> {
  return sql<InvitationRow[]>`select project_id, email, role, created_at from project_invitations where project_id = ${projectId} order by created_at, email`
}

/** Records (or changes the role of) an invitation for an email without an account; honoured when it signs up. */
export async function upsertInvitation(sql: Sql, i: { project_id: string; email: string; role: string; invited_by: string }): Promise<void> {
  await sql`
    insert into project_invitations (project_id, email, role, invited_by)
    values (${i.project_id}, ${i.email.toLowerCase()}, ${i.role}, ${i.invited_by})
    on conflict (project_id, email) do update set role = excluded.role`
}

/** Withdraws the open invitation of an email (matched lower-cased); false when there was none. */
export async function deleteInvitation(sql: Sql, projectId: string, email: string): Promise<boolean> {
  const rows = await sql`delete from project_invitations where project_id = ${projectId} and email = ${email.toLowerCase()} returning email`
  return rows.length > 0
}

/** Changes a member's role; null when the user is not a member. */
export async function setMemberRole(sql: Sql, projectId: string, userId: string, role: string): Promise<MemberView | null> {
  const [row] = await sql<MemberView[]>`
    update project_members m set role = ${role}
    from users u
    where m.project_id = ${projectId} and m.user_id = ${userId} and u.id = m.user_id
    returning u.id as user_id, u.email, u.name, m.role, m.created_at`
  return row ?? null
}

/**
 * Removes a member, and answers in the same statement the specs of the project they could see only as a member (not
 * their own): the rooms to take them out of. null when the user was not a member. One statement, so that a removal
 * never commits without its list (a failure leaves the member in place, and the removal can be asked again).
 */
export async function removeMember(sql: Sql, projectId: string, userId: string): Promise<string[] | null> {
  const [row] = await sql<{ removed: number; spec_ids: string[] }[]>`
    with removed as (delete from project_members where project_id = ${projectId} and user_id = ${userId} returning user_id)
    select (select count(*) from removed)::int as removed,
      coalesce((select array_agg(id order by id) from specs where project_id = ${projectId} and user_id <> ${userId}), '{}') as spec_ids`
  return row!.removed > 0 ? row!.spec_ids : null
}
