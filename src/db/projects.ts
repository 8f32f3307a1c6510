import type { Sql } from './connect.ts'

export interface ProjectRow {
  id: string
  owner_id: string
  name: string
  repo_url: string | null
  default_branch: string
  /** Run in the workspace to check a task's work and the spec branch; null: none. */
  check_command: string | null
  created_at: Date
  updated_at: Date
}

export type ProjectRole = 'owner' | 'editor' | 'viewer'

export interface ProjectWithRole extends ProjectRow {
  role: ProjectRole
}

export async function insertProject(
  sql: Sql,
  p: Pick<ProjectRow, 'id' | 'owner_id' | 'name' | 'repo_url' | 'default_branch' | 'check_command'>,
): Promise<ProjectRow> {
  const [row] = await sql<ProjectRow[]>`
    insert into projects ${sql(p, 'id', 'owner_id', 'name', 'repo_url', 'default_branch', 'check_command')} returning *`
  return row!
}

/** Changes the given fields of a project; answers the new row. */
export async function updateProject(
  sql: Sql,
  projectId: string,
  changes: Partial<Pick<ProjectRow, 'name' | 'default_branch' | 'check_command'>>,
): Promise<ProjectRow> {
  const keys = (['name', 'default_branch', 'check_command'] as const).filter((k) => changes[k] !== undefined)
  if (keys.length === 0) return (await findProject(sql, projectId))!
  const [row] = await sql<ProjectRow[]>`
    update projects set ${sql(changes, ...keys)}, updated_at = now() where id = ${projectId} returning *`
  return row!
}

/** Projects the user owns or is a member of, with the user's role on each. */
export async function listProjectsFor(sql: Sql, userId: string): Promise<ProjectWithRole[]> {
  return sql<ProjectWithRole[]>`
    select p.*, case when p.owner_id = ${userId} then 'owner' else m.role end as role
    from projects p
    left join project_members m on m.project_id = p.id and m.user_id = ${userId}
    where p.owner_id = ${userId} or m.user_id is not null
    order by p.created_at desc`
}

/** The project and the user's role on it; null when the user may not see it. */
export async function findProjectFor(sql: Sql, projectId: string, userId: string): Promise<ProjectWithRole | null> {
  const [row] = await sql<ProjectWithRole[]>`
    select p.*, case when p.owner_id = ${userId} then 'owner' else m.role end as role
    from projects p
    left join project_members m on m.project_id = p.id and m.user_id = ${userId}
    where p.id = ${projectId} and (p.owner_id = ${userId} or m.user_id is not null)`
  return row ?? null
}

export async function findProject(sql: Sql, projectId: string): Promise<ProjectRow | null> {
  const [row] = await sql<ProjectRow[]>`select * from projects where id = ${projectId}`
  return row ?? null
}

export interface MemberRow {
  project_id: string
  user_id: string
  role: 'viewer' | 'editor'
  created_at: Date
}

/** Adds or changes a member's role. */
export async function upsertMember(sql: Sql, m: Pick<MemberRow, 'project_id' | 'user_id' | 'role'>): Promise<MemberRow> {
  const [row] = await sql<MemberRow[]>`
    insert into project_members ${sql(m, 'project_id', 'user_id', 'role')}
    on conflict (project_id, user_id) do update set role = excluded.role
    returning *`
  return row!
}
