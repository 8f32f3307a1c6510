import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { appendEvents } from '../../src/db/events.ts'
import { pendingUserMessages } from '../../src/db/messages.ts'
import { insertProject } from '../../src/db/projects.ts'
import { insertSpec } from '../../src/db/specs.ts'
import { insertUser } from '../../src/db/users.ts'
import { newId, newUuid } from '../../src/ids.ts'
import { freshDatabase } from '../support/db.ts'

/** What an agent polling `GET /sandboxes/:id/messages` is given (src/db/messages.ts). */

let database: Database
beforeAll(async () => {
  database = await freshDatabase()
})
afterAll(async () => {
  await database?.close()
})

async function specWithMessages(texts: string[]) {
  const { sql } = database
  const user = (await insertUser(sql, { id: newId('usr'), email: `m-${newId('x').toLowerCase()}@example.com`, name: 'M', role: 'user', password_hash: 'x' }))!
  const project = await insertProject(sql, { id: newId('prj'), owner_id: user.id, name: 'M', repo_url: null, default_branch: 'main', check_command: null })
  const spec = await insertSpec(sql, { id: newId('spec'), project_id: project.id, user_id: user.id, title: 'M', description: 'd', approval: 'auto', budget_usd: null, kind: 'spec' })
  await sql`update specs set status = 'executing' where id = ${spec.id}`
  const { written } = await appendEvents(sql, spec.id, texts.map((text) => ({ id: newUuid(), type: 'user.message', data: { text }, source: 'user' as const })))
  return { specId: spec.id, written }
}

describe('pending user messages', () => {
  it('gives a running spec’s messages after the seq the agent names, or after the last one an agent took', async () => {
    const { specId, written } = await specWithMessages(['one', 'two'])
    expect((await pendingUserMessages(database.sql, specId, 1)).map((e) => e.data.text)).toEqual(['two'])
    await appendEvents(database.sql, specId, [{ id: newUuid(), type: 'agent.message_injected', data: { message_seq: written[0]!.seq }, source: 'agent' }])
    expect((await pendingUserMessages(database.sql, specId, undefined)).map((e) => e.data.text)).toEqual(['two'])
  })

  it('gives none once the spec has ended: its untaken messages are reported undelivered instead', async () => {
    for (const status of ['completed', 'failed', 'cancelled']) {
      const { specId } = await specWithMessages(['too late'])
      await database.sql`update specs set status = ${status} where id = ${specId}`
      expect(await pendingUserMessages(database.sql, specId, 0), status).toEqual([])
    }
  })
})
