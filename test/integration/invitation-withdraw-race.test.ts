import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { deleteInvitation, upsertInvitation } from '../../src/db/members.ts'
import { insertUser } from '../../src/db/users.ts'
import { freshDatabase } from '../support/db.ts'

/**
 * A withdrawal (DELETE /projects/:id/invitations/:email) that answered 204 must mean the email signs up without
 * access, also when the signup runs at the same moment. The withdrawal's delete is held open on a connection of its own
 * (the instant between its delete and its commit, widened); the signup's trigger reads the invitation meanwhile.
 * Needs a second backend: PostgreSQL only.
 */
const enabled = !!process.env.DATABASE_URL

let database: Database
const clients: pg.Client[] = []

beforeAll(async () => {
  database = await freshDatabase()
  await database.sql`insert into users (id, email, name, password_hash) values ('usr_owner', 'owner@example.com', 'O', 'x')`
  await database.sql`insert into projects (id, owner_id, name) values ('prj_race', 'usr_owner', 'Race')`
})
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => {})))
  await database?.close()
})

describe('withdrawing an invitation while its email signs up', () => {
  it.skipIf(!enabled)('a withdrawal that succeeded leaves the new user without access', async () => {
    const email = 'erin-race@example.com'
    await upsertInvitation(database.sql, { project_id: 'prj_race', email, role: 'editor', invited_by: 'usr_owner' })

    const withdraw = new pg.Client({ connectionString: database.url })
    clients.push(withdraw)
    await withdraw.connect()
    await withdraw.query('begin')
    const deleted = await withdraw.query('delete from project_invitations where project_id = $1 and email = $2 returning email', ['prj_race', email])
    expect(deleted.rowCount).toBe(1) // the owner will be told 204

    // the signup's trigger runs now, while the withdrawal has not committed yet; it waits on the row
    const signup = insertUser(database.sql, { id: 'usr_erin', email, name: 'Erin', role: 'user', password_hash: 'x' })
    await new Promise((resolve) => setTimeout(resolve, 300))
    await withdraw.query('commit')
    expect(await signup).not.toBeNull()

    const rows = await database.sql`select role from project_members where project_id = 'prj_race' and user_id = 'usr_erin'`
    expect(rows.length, 'the withdrawn invitation still made Erin a member').toBe(0)
  })

  it('signup first, then the withdrawal: 404 (false) and the membership stands, on either database', async () => {
    const email = 'fay-race@example.com'
    await upsertInvitation(database.sql, { project_id: 'prj_race', email, role: 'viewer', invited_by: 'usr_owner' })
    await insertUser(database.sql, { id: 'usr_fay', email, name: 'Fay', role: 'user', password_hash: 'x' })
    expect(await deleteInvitation(database.sql, 'prj_race', email)).toBe(false)
    const rows = await database.sql`select role from project_members where project_id = 'prj_race' and user_id = 'usr_fay'`
    expect(rows.map((r) => r.role)).toEqual(['viewer'])
  })
})
