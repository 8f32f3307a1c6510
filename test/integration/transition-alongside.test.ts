import { createActor } from 'xstate'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { persistTransition, type AlongsideWrite, type Transition } from '../../src/actors/persist.ts'
import { specMachine } from '../../src/actors/spec-machine.ts'
import type { Database } from '../../src/db/connect.ts'
import { findKey, recordAnswer } from '../../src/db/idempotency.ts'
import { freshDatabase } from '../support/db.ts'

/**
 * A write carried with a transition (a keyed command's answer, src/actors/command-keys.ts) is committed in the
 * transition's transaction: both are stored or neither. On PGlite and on PostgreSQL.
 */
let database: Database

beforeAll(async () => {
  database = await freshDatabase()
  await database.sql`insert into users (id, email, name, password_hash) values ('usr_a', 'a@example.com', 'A', 'x')`
  await database.sql`insert into specs (id, user_id, title, description) values ('spec_a', 'usr_a', 'Answered', 'a keyed command')`
})
afterAll(() => database?.close())

/** The spec's first transition (its draft snapshot), carrying `alongside`. */
function firstTransition(alongside: AlongsideWrite<unknown>): Transition {
  const settings = { silenceMs: 60_000, phaseTimeoutMs: 600_000, taskConcurrency: 1 }
  const actor = createActor(specMachine, { input: { specId: 'spec_a', approval: 'manual', kind: 'spec', settings } })
  const snap = actor.getSnapshot()
  return {
    specId: 'spec_a',
    version: 1,
    fence: { node: 'node-a', epoch: 1 },
    persisted: actor.getPersistedSnapshot(),
    context: snap.context,
    value: snap.value,
    logs: [],
    previous: null,
    alongside,
  }
}

const answerOf = (tx: Database['sql'], key: string) =>
  recordAnswer(tx, { userId: 'usr_a', key, fingerprint: 'fp', answer: { code: 200, body: { answered: 'with the transition' } } })
const snapshots = async () => (await database.sql`select version from spec_actors where spec_id = 'spec_a'`).map((r) => r.version)

describe('a write carried with a transition', () => {
  it('that fails takes the transition with it: neither is stored', async () => {
    const refused = firstTransition(async (tx) => {
      await answerOf(tx, 'k-refused')
      throw new Error('refused (test)')
    })
    await expect(persistTransition(database.sql, refused)).rejects.toThrow('refused (test)')
    expect(await snapshots()).toEqual([])
    expect(await findKey(database.sql, 'usr_a', 'k-refused')).toBeNull()
  })

  it('is committed with the transition, and resolves what it wrote (the answer as stored)', async () => {
    const written = await persistTransition(database.sql, firstTransition((tx, spec) => answerOf(tx, `k-${spec.id}`)))
    expect(written.alongside).toEqual({ answer: { code: 200, body: { answered: 'with the transition' } }, replayed: false })
    expect(await snapshots()).toEqual([1])
    expect(await findKey(database.sql, 'usr_a', 'k-spec_a')).toEqual({ fingerprint: 'fp', answer: { code: 200, body: { answered: 'with the transition' } } })
  })
})
