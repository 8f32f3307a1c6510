import { describeSnapshot } from '../src/actors/describe.ts'
import { SpecHost } from '../src/actors/host.ts'
import type { SpecContext } from '../src/actors/machine-types.ts'
import { claimActors } from '../src/db/actors.ts'
import { connectUrl, type Sql } from '../src/db/connect.ts'
import { findSpec } from '../src/db/specs.ts'
import { freshDatabase } from './support/db.ts'
import { getGc } from './support/gc.ts'
import { progress, runIfMain, type BenchResult } from './support/result.ts'
import { awaitingApprovalSnapshot, BENCH_SETTINGS, idleOnlyMachine } from './support/spec-fixtures.ts'
import { fmt, loadNote, median } from './support/stats.ts'

/**
 * Restore (DESIGN §7): 10,000 persisted idle actors (manual-approval specs waiting in active.requirements.awaiting)
 * back after a restart: the time `new SpecHost(…).boot()` takes until every one is live, and the heap each costs.
 * Baseline in the same run: selecting the same 10,000 rows (spec_actors joined with specs; postgres.js parses the
 * jsonb), which is the least any restore has to do.
 */

const ACTORS = 10_000
const USERS = 1_000
const BUDGET_S = 10
const TEMPLATE_ID = 'spec_template_000000000000000'
const BOOTS = 3

process.env.OMOI_LOG_LEVEL ??= 'warn'

async function settledHeap(gc: () => void): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
}

/** 1,000 users with a project each, 10,000 specs over them, and one persisted idle actor per spec. */
async function seed(sql: Sql): Promise<{ snapshotBytes: number }> {
  const template = awaitingApprovalSnapshot(TEMPLATE_ID)
  const d = describeSnapshot({ value: template.value, context: template.context as SpecContext })
  const text = JSON.stringify(template.persisted)
  const pad = (expr: string, n: number) => `lpad((${expr})::text, ${n}, '0')`
  await sql.unsafe(`
    insert into users (id, email, name, password_hash)
    select 'usr_bench' || ${pad('i', 17)}, 'bench' || i || '@example.com', 'Bench ' || i, 'not-a-hash'
    from generate_series(1, ${USERS}) i`)
  await sql.unsafe(`
    insert into projects (id, owner_id, name)
    select 'prj_bench' || ${pad('i', 17)}, 'usr_bench' || ${pad('i', 17)}, 'project ' || i
    from generate_series(1, ${USERS}) i`)
  await sql`
    insert into specs (id, project_id, user_id, title, description, status, current_phase, approval, phases, last_seq)
    select 'spec_bench' || lpad(i::text, 16, '0'),
           'prj_bench' || lpad((i % ${USERS} + 1)::text, 17, '0'),
           'usr_bench' || lpad((i % ${USERS} + 1)::text, 17, '0'),
           'Spec ' || i, 'Add due dates and reminders to todo items.', ${d.status}, ${d.current_phase}, 'manual',
           ${sql.json(d.phases as never)}, 9
    from generate_series(1, ${ACTORS}) i`
  await sql`
    insert into spec_actors (spec_id, snapshot, version, state, final)
    select id, replace(${text}, ${TEMPLATE_ID}, id)::jsonb, 7, ${d.state}, false from specs`
  await sql`vacuum analyze`
  return { snapshotBytes: Buffer.byteLength(text) }
}

export async function restoreBench(): Promise<BenchResult> {
  const gc = getGc()
  const database = await freshDatabase('restore')
  let sql: Sql | undefined
  let host: SpecHost | undefined
  try {
    progress(`restore: seeding ${fmt(ACTORS, 0)} idle actors`)
    const { snapshotBytes } = await seed(database.sql)

    // "the restart": a new pool, as a new process would open
    sql = connectUrl(database.url)
    await sql`select 1`

    const select = async () => {
      const t0 = performance.now()
      const rows = await sql!`select a.*, s.* from spec_actors a join specs s on s.id = a.spec_id where a.final = false`
      if (rows.length !== ACTORS || typeof rows[0]!.snapshot !== 'object') throw new Error('baseline did not read the rows')
      return performance.now() - t0
    }
    await select() // warm: the database's cache serves both sides alike
    // what the same rows take in memory, parsed, as a yardstick for the heap per actor
    const heapEmpty = await settledHeap(gc)
    let held: readonly unknown[] | null = await sql`select a.*, s.* from spec_actors a join specs s on s.id = a.spec_id where a.final = false`
    const rowsHeap = (await settledHeap(gc)) - heapEmpty
    if (held.length !== ACTORS) throw new Error('the rows went missing')
    held = null

    // read before the heap is measured, so it weighs on both sides of the difference
    const ids = (await sql<{ spec_id: string }[]>`select spec_id from spec_actors`).map((r) => r.spec_id)
    // where boot's time goes: the lease claim, one findSpec per restored row, and the same spec rows in one query
    progress('restore: timing the parts of boot()')
    const timed = async (f: () => Promise<unknown>) => {
      const t = performance.now()
      await f()
      return performance.now() - t
    }
    const perRow = async () => {
      for (const id of ids) await findSpec(sql!, id)
    }
    const perRowMs = median([await timed(perRow), await timed(perRow), await timed(perRow)])
    const oneQuery = () => sql!`select * from specs where id = any(${ids})`
    const oneQueryMs = median([await timed(oneQuery), await timed(oneQuery), await timed(oneQuery)])
    // last: each claim rewrites 10,000 rows, and the dead tuples (and autovacuum) would slow what follows
    const claimMs = median([
      await timed(() => claimActors(sql!, 'bench-parts', true)),
      await timed(() => claimActors(sql!, 'bench-parts', true)),
      await timed(() => claimActors(sql!, 'bench-parts', true)),
    ])


    const baselines: number[] = []
    const boots: { liveMs: number; settledMs: number }[] = []
    let memory = { heap: 0, rss: 0 }
    let stateMessages = 0
    // three restarts, each after a baseline read (alternating, so outside load weighs on both); the first is checked
    // actor by actor and its heap measured
    for (let round = 0; round < BOOTS; round++) {
      progress(`restore ${round + 1}/${BOOTS}: baseline, then a new SpecHost and boot()`)
      baselines.push(await select())
      host = new SpecHost({ sql, nodeId: `bench-node-${round}`, singleNode: true, settings: BENCH_SETTINGS, machine: idleOnlyMachine() })
      host.bus.subscribe((m) => {
        if (m.kind === 'state') stateMessages++
      })
      const heapBefore = round === 0 ? await settledHeap(gc) : 0
      const rssBefore = process.memoryUsage().rss
      const t0 = performance.now()
      const restored = await host.boot()
      const liveMs = performance.now() - t0
      // boot returns with every actor live; writes their start enqueued (if any) would still run behind it
      const h = host
      await Promise.all(ids.map((id) => h.waitFor(id, () => true, 120_000)))
      boots.push({ liveMs, settledMs: performance.now() - t0 })
      if (round === 0) {
        memory = { heap: (await settledHeap(gc)) - heapBefore, rss: process.memoryUsage().rss - rssBefore }
        const live = host.listActors()
        const awaiting = live.filter((a) => a.state === 'active.requirements.awaiting' && a.status === 'awaiting_approval').length
        const canApprove = live.filter((a) => h.can(a.spec_id, { type: 'APPROVE', phase: 'requirements', by: 'usr_bench' })).length
        if (restored !== ACTORS || live.length !== ACTORS || awaiting !== ACTORS || canApprove !== ACTORS) {
          throw new Error(`restore went wrong: boot said ${restored}, ${live.length} live, ${awaiting} awaiting, ${canApprove} accept APPROVE`)
        }
      }
      await host.shutdown()
      host = undefined
    }
    const [after] = await sql<{ rewritten: number; failed: number }[]>`
      select (select count(*) from spec_actors where version > 7)::int8 as rewritten,
             (select count(*) from specs where status = 'failed')::int8 as failed`
    if (after!.failed > 0) throw new Error(`${after!.failed} specs were marked failed while restoring`)

    const baselineMs = median(baselines)
    const liveMs = median(boots.map((b) => b.liveMs))
    const settledMs = median(boots.map((b) => b.settledMs))
    const perThousandMb = (memory.heap / ACTORS) * 1000 / 1024 / 1024
    const liveS = liveMs / 1000
    const settledS = settledMs / 1000
    const ratio = liveMs / baselineMs
    return {
      name: 'restore',
      figure: `${liveS.toFixed(2)} s until ${fmt(ACTORS, 0)} idle actors are live (SpecHost.boot(), median of ${BOOTS})`,
      baseline: `${(baselineMs / 1000).toFixed(3)} s to select and parse the same ${fmt(ACTORS, 0)} rows (median of ${BOOTS})`,
      ratio,
      ratioLabel: `${fmt(ratio, 1)}× the baseline`,
      budget: { text: `${fmt(ACTORS, 0)} actors back and serving in < ${BUDGET_S} s (${settledS.toFixed(2)} s incl. the writes boot enqueued)`, met: settledS < BUDGET_S },
      notes: [
        `heap: ${perThousandMb.toFixed(1)} MB per 1,000 idle actors (${fmt(memory.heap / ACTORS / 1024, 1)} KiB each, after gc; ` +
          `rss +${fmt(memory.rss / 1024 / 1024, 0)} MB); the same rows merely parsed hold ${fmt(rowsHeap / ACTORS / 1024, 1)} KiB each ` +
          `→ ${(memory.heap / rowsHeap).toFixed(1)}×`,
        `boots: ${boots.map((b) => `${(b.liveMs / 1000).toFixed(2)} s`).join(', ')}; baselines: ${baselines.map((b) => `${(b / 1000).toFixed(3)} s`).join(', ')}`,
        `inside boot: claimActors ${fmt(claimMs, 0)} ms; one findSpec per row, ${fmt(ACTORS, 0)} in sequence, ${fmt(perRowMs, 0)} ms — ` +
          `the same rows in one \`where id = any(…)\` query ${fmt(oneQueryMs, 0)} ms`,
        `writes settled ${settledS.toFixed(2)} s after boot began (median); boots re-wrote ${fmt(after!.rewritten, 0)} of ${fmt(ACTORS, 0)} snapshots ` +
          `and published ${fmt(stateMessages, 0)} spec:state messages for actors that did not change`,
        `every actor restored into active.requirements.awaiting and accepts APPROVE; persisted snapshot ${fmt(snapshotBytes / 1024, 1)} KiB`,
        loadNote(),
      ],
    }
  } finally {
    await host?.shutdown().catch(() => {})
    await sql?.end({ timeout: 5 })
    await database.close()
  }
}

runIfMain(import.meta.url, restoreBench)
