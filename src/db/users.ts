import type { Sql } from './connect.ts'

export interface UserRow {
  id: string
  email: string
  name: string
  role: 'user' | 'admin'
  password_hash: string
  created_at: Date
}

export type PublicUser = Pick<UserRow, 'id' | 'email' | 'name' | 'role'>

export const publicUser = (u: UserRow | PublicUser): PublicUser => ({ id: u.id, email: u.email, name: u.name, role: u.role })

/** Inserts a user; returns null when the email is taken. */
export async function insertUser(sql: Sql, user: Omit<UserRow, 'created_at'>): Promise<UserRow | null> {
  const rows = await sql<UserRow[]>`
    insert into users ${sql(user, 'id', 'email', 'name', 'role', 'password_hash')}
    on conflict (email) do nothing
    returning *`
  return rows[0] ?? null
}

export async function findUserByEmail(sql: Sql, email: string): Promise<UserRow | null> {
  const [row] = await sql<UserRow[]>`select * from users where email = ${email}`
  return row ?? null
}

/** Keeps roles in step with OMOI_ADMIN_EMAILS: listed users are admins, others are not. */
export async function setRole(sql: Sql, id: string, role: UserRow['role']): Promise<void> {
  await sql`update users set role = ${role} where id = ${id} and role <> ${role}`
}
