import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { vacuumDueTables } from '../../src/db/embedded-vacuum.ts'
import { freshDatabase } from '../support/db.ts'
import { waitFor } from '../support/wait.ts'

/**
 * Embedded PGlite has no autovacuum: a spec's snapshot (tens of kB, stored out of line) rewritten at every transition
 * left each old copy behind. The embedded server's vacuum rounds (src/db/embedded-vacuum.ts) let that space be reused.
 * On PostgreSQL the same round runs with autovacuum switched off for the table, so that nothing else vacuums it.
 */
let database: Database

beforeAll(async () => {
  database = await freshDatabase()
  const sql = database.sql
  await sql`insert into users (id, email, name, password_hash) values ('usr_v', 'v@example.com', 'V', 'x')`
  await sql`insert into specs (id, user_id, title, description) values ('spec_v', 'usr_v', 'Vacuumed', 'a spec with many transitions')`
  await sql`insert into spec_actors (spec_id, snapshot, version, state, owner_node, lease_expires_at, epoch)
    values ('spec_v', '{}', 0, 'active', 'node-v', now() + interval '1 minute', 1)`
  if (!database.embedded) {
    await sql`alter table spec_actors set (autovacuum_enabled = false, toast.autovacuum_enabled = false)`
    await sql`alter table sandbox_events set (autovacuum_enabled = false)`
  }
})
afterAll(() => database?.close())

/** A snapshot of ~50 kB that compresses little, different at each transition, as the actor writes one. */
const snapshot = (version: number) => ({ version, context: Array.from({ length: 1_000 }, (_, i) => ({ i, id: randomUUID() })) })

async function transitions(from: number, count: number): Promise<void> {
  for (let v = from; v < from + count; v++) {
    await database.sql`update spec_actors set snapshot = ${database.sql.json(snapshot(v))}, version = ${v} where spec_id = 'spec_v'`
  }
}

const tableBytes = async () => (await database.sql<{ bytes: number }[]>`select pg_total_relation_size('spec_actors')::int8 as bytes`)[0]!.bytes

const vacuumCount = async (table: string) =>
  (await database.sql<{ n: number }[]>`select vacuum_count::int8 as n from pg_stat_all_tables where relname = ${table} and schemaname = 'public'`)[0]!.n

/** Rounds until one vacuums `table` (what changed reaches the statistics a moment after the transaction). */
async function vacuumed(table = 'spec_actors'): Promise<void> {
  const before = await vacuumCount(table)
  await waitFor(async () => (await vacuumDueTables(database.sql), (await vacuumCount(table)) > before ? true : null), {
    timeoutMs: 20_000,
    intervalMs: 200,
    what: `a vacuum round that vacuums ${table}`,
  })
}

describe('vacuum rounds of the embedded database', () => {
  it("let a spec's next transitions reuse the space of its old snapshots instead of growing the table again", async () => {
    await transitions(1, 200)
    await vacuumed()
    const after200 = await tableBytes()
    await transitions(201, 200)
    await vacuumed()
    const after400 = await tableBytes()
    // without the vacuum the second 200 snapshots take as much new space as the first (several MB)
    expect(after200).toBeGreaterThan(2_000_000)
    expect(after400 - after200).toBeLessThan(after200 * 0.25)
  }, 120_000)

  it('vacuum an append-only event log once 1,000 + 20 % of its rows came since the last vacuum', async () => {
    await database.sql`insert into sandbox_events (seq, id, spec_id, type, data, source)
      select g, gen_random_uuid(), 'spec_v', 'agent.text', jsonb_build_object('text', 'line ' || g), 'agent' from generate_series(1, 1500) g`
    await vacuumed('sandbox_events')
  })
})
