import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FencedError, fencedWrite } from '../../src/db/actors.ts'
import type { Database } from '../../src/db/connect.ts'
import { updateDelivery } from '../../src/db/specs.ts'
import { freshDatabase } from '../support/db.ts'

/**
 * Writes of a spec's state made outside a transition (sandbox rows, the delivery) carry this node's lease (DESIGN §4):
 * once another node claimed the spec (a higher epoch), the old owner's write is refused and changes nothing.
 */
let database: Database

beforeAll(async () => {
  database = await freshDatabase()
  const sql = database.sql
  await sql`insert into users (id, email, name, password_hash) values ('usr_f', 'f@example.com', 'F', 'x')`
  await sql`insert into specs (id, user_id, title, description) values ('spec_f', 'usr_f', 'Fenced', 'fenced writes')`
  // node-b took the spec over from node-a: its claim raised the epoch to 2
  await sql`insert into spec_actors (spec_id, snapshot, version, state, owner_node, lease_expires_at, epoch)
    values ('spec_f', '{}', 3, 'active', 'node-b', now() + interval '1 minute', 2)`
})
afterAll(() => database?.close())

const branchOf = async () => (await database.sql<{ branch: string | null }[]>`select delivery->>'branch' as branch from specs where id = 'spec_f'`)[0]!.branch

describe('a write fenced by the lease', () => {
  it('is refused for the node that lost the spec (lower epoch), and for a node whose copy is gone; nothing is written', async () => {
    const write = (tx: Database['sql']) => updateDelivery(tx, 'spec_f', { branch: 'written-by-a-stale-node' })
    await expect(fencedWrite(database.sql, 'spec_f', { node: 'node-a', epoch: 1 }, write)).rejects.toBeInstanceOf(FencedError)
    await expect(fencedWrite(database.sql, 'spec_f', { node: 'node-b', epoch: 1 }, write)).rejects.toBeInstanceOf(FencedError)
    await expect(fencedWrite(database.sql, 'spec_f', null, write)).rejects.toBeInstanceOf(FencedError)
    expect(await branchOf()).toBeNull()
  })

  it('goes through for the owner with its epoch', async () => {
    await fencedWrite(database.sql, 'spec_f', { node: 'node-b', epoch: 2 }, (tx) => updateDelivery(tx, 'spec_f', { branch: 'omoi/f/spec' }))
    expect(await branchOf()).toBe('omoi/f/spec')
  })
})
