import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import type { Database, Sql } from '../src/db/connect.ts'
import { findSandbox, touchHeartbeat } from '../src/db/sandboxes.ts'
import { runChild } from './support/child.ts'
import { freshDatabase } from './support/db.ts'
import type { IngestAnswer, IngestJob } from './support/ingest-load.ts'
import { progress, runIfMain, type BenchResult } from './support/result.ts'
import { Client, runningSandbox, startRealServer } from './support/server.ts'
import { fmt, loadNote, median, quantile } from './support/stats.ts'

/**
 * Ingest (DESIGN §7): sandbox events accepted per second on one node through the real
 * `POST /api/v1/sandboxes/:id/events` (token check, validation, the spec's write queue, heartbeat), against a bare Hono
 * endpoint on @hono/node-server doing the same insert with the same seq-allocation SQL, no auth, no validation.
 * Senders run in a child process, one request in flight each, batches of 100. Beside the headline pair: the same with
 * all senders on one spec, with one event per POST, and two what-ifs that put numbers on suggested changes to src
 * (the append as one statement; the bare endpoint plus the sandbox-row read and heartbeat the real one does).
 */

const SENDERS = 4
const BATCH = 100
const WARMUP_MS = 500
const WINDOW_MS = 2_500
const ROUNDS = 3

interface Target {
  url: string
  token: string | null
}

interface Variant {
  key: string
  label: string
  targets: Target[]
  batch: number
}

interface Measured {
  eventsPerSec: number
  p50: number
  p99: number
  errors: string[]
}

/**
 * The baseline's insert: a copy of the SQL of `appendEvents` (src/db/events.ts) as it stands — lock the spec row, skip
 * ids already stored, insert with the next seqs, bump `last_seq` — in one transaction.
 */
async function bareAppend(
  tx: Sql,
  specId: string,
  events: { id: string; type: string; data: Record<string, unknown>; source: 'agent'; sandbox_id: string }[],
): Promise<{ written: number; duplicates: number }> {
  const [spec] = await tx<{ last_seq: number }[]>`select last_seq from specs where id = ${specId} for update`
  if (!spec) throw new Error(`spec ${specId} does not exist`)
  const existing = new Set((await tx<{ id: string }[]>`select id from sandbox_events where id in ${tx(events.map((e) => e.id))}`).map((r) => r.id))
  const seen = new Set<string>()
  const fresh = events.filter((e) => !existing.has(e.id) && !seen.has(e.id) && seen.add(e.id))
  if (fresh.length === 0) return { written: 0, duplicates: events.length }
  const rows = fresh.map((e, i) => ({ ...e, seq: spec.last_seq + i + 1, spec_id: specId }))
  const written = await tx<{ seq: number; created_at: Date }[]>`
    insert into sandbox_events ${tx(rows as never, 'seq', 'id', 'spec_id', 'sandbox_id', 'type', 'data', 'source')}
    returning seq, id, spec_id, sandbox_id, type, data, source, created_at`
  await tx`update specs set last_seq = ${spec.last_seq + fresh.length} where id = ${specId}`
  return { written: written.length, duplicates: events.length - fresh.length }
}

/**
 * Not a baseline but a what-if for the report: the same append as ONE statement (lock, skip stored ids, number, insert,
 * bump last_seq), one round trip instead of five. A sketch: a concurrent duplicate of an in-flight id would raise a
 * unique violation here instead of being skipped.
 */
async function oneStatementAppend(
  sql: Sql,
  specId: string,
  sandboxId: string,
  events: { id: string; type: string; data: Record<string, unknown> }[],
): Promise<{ written: number; duplicates: number }> {
  const rows = await sql<{ seq: number }[]>`
    with spec as (select last_seq from specs where id = ${specId} for update),
    input as (
      select i.id, i.type, i.data::jsonb as data, i.ord
      from unnest(${events.map((e) => e.id)}::uuid[], ${events.map((e) => e.type)}::text[], ${events.map((e) => JSON.stringify(e.data))}::text[])
        with ordinality as i(id, type, data, ord)
    ),
    fresh as (
      select distinct on (id) id, type, data, ord from input
      where not exists (select 1 from sandbox_events s where s.id = input.id)
      order by id, ord
    ),
    numbered as (select f.*, (select last_seq from spec) + row_number() over (order by ord) as seq from fresh f),
    ins as (
      insert into sandbox_events (seq, id, spec_id, sandbox_id, type, data, source)
      select seq, id, ${specId}, ${sandboxId}, type, data, 'agent' from numbered
      returning seq, id, spec_id, sandbox_id, type, data, source, created_at
    ),
    bump as (update specs set last_seq = last_seq + (select count(*) from ins) where id = ${specId})
    select * from ins order by seq`
  return { written: rows.length, duplicates: events.length - rows.length }
}

/** The baseline server: one route, JSON in, the same transaction, JSON out (or the one-statement what-if). */
async function startBareServer(
  sql: Sql,
  specOfSandbox: Map<string, string>,
  mode: 'same-sql' | 'one-statement' | 'same-sql+sandbox-row',
): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Hono().post('/sandboxes/:id/events', async (c) => {
    const sandboxId = c.req.param('id')
    const specId = specOfSandbox.get(sandboxId)
    if (!specId) return c.json({ error: { code: 'not_found', message: 'no such sandbox' } }, 404)
    const body = await c.req.json<{ events: { id: string; type: string; data?: Record<string, unknown> }[] }>()
    const events = body.events.map((e) => ({ id: e.id, type: e.type, data: e.data ?? {}, source: 'agent' as const, sandbox_id: sandboxId }))
    // the what-if that attributes the real endpoint's cost: also read the sandbox row and write its heartbeat, as
    // SandboxApi.authenticate and .ingest do for every POST
    if (mode === 'same-sql+sandbox-row') await findSandbox(sql, sandboxId)
    const { written, duplicates } =
      mode === 'one-statement'
        ? await oneStatementAppend(sql, specId, sandboxId, events)
        : await sql.begin((tx) => bareAppend(tx as unknown as Sql, specId, events))
    if (mode === 'same-sql+sandbox-row') await touchHeartbeat(sql, sandboxId)
    return c.json({ accepted: written, duplicates })
  })
  const server: Server = createServer(getRequestListener(app.fetch))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      }),
  }
}

/**
 * One measurement window. Every window starts from the same database state — empty event log, seqs at 0, a fresh
 * checkpoint — because a growing log (random-UUID primary key, checkpoints) slows later windows by a third or more,
 * which would otherwise be read as a difference between endpoints. After the window the log is checked: strictly
 * increasing seqs with no gaps, per spec.
 */
async function measure(sql: Sql, targets: Target[], batch: number): Promise<Measured> {
  await sql`truncate sandbox_events`
  await sql`update specs set last_seq = 0`
  await sql`checkpoint`.catch(() => {}) // needs pg_checkpoint or superuser; without it windows just start less alike
  const job: IngestJob = { senders: targets, batch, warmupMs: WARMUP_MS, durationMs: WINDOW_MS }
  const { result } = runChild<IngestJob, IngestAnswer>(new URL('./support/ingest-load.ts', import.meta.url), job, { timeoutMs: 60_000 })
  const a = await result
  const [log] = await sql<{ bad: number; total: number }[]>`
    select count(*) filter (where seq <> rn)::int8 as bad, count(*)::int8 as total
    from (select seq, row_number() over (partition by spec_id order by seq) as rn from sandbox_events) t`
  checked.events += log!.total
  checked.bad += log!.bad
  return {
    eventsPerSec: a.accepted / (a.elapsedMs / 1000),
    p50: quantile(a.latenciesMs, 0.5),
    p99: quantile(a.latenciesMs, 0.99),
    errors: a.errors,
  }
}

const checked = { events: 0, bad: 0 }

const describe = (m: Measured) => `${fmt(m.eventsPerSec, 0)} events/s (request p50 ${fmt(m.p50)} ms, p99 ${fmt(m.p99)} ms)`

export async function ingestBench(): Promise<BenchResult> {
  const database: Database = await freshDatabase('ingest')
  const server = await startRealServer(database).catch(async (err) => {
    await database.close()
    throw err
  })
  let bare: Awaited<ReturnType<typeof startBareServer>> | undefined
  let oneStatement: Awaited<ReturnType<typeof startBareServer>> | undefined
  let withSandboxRow: Awaited<ReturnType<typeof startBareServer>> | undefined
  try {
    const client = await new Client(server.url).signup()
    const projectId = await client.project()
    // one spec (and sandbox) per sender for the node's throughput; a separate spec shared by all senders for contention
    const own: { specId: string; sandbox: { id: string; token: string } }[] = []
    for (let i = 0; i < SENDERS; i++) {
      const specId = await client.draftSpec(projectId, `ingest ${i}`)
      own.push({ specId, sandbox: await runningSandbox(database, specId) })
    }
    const sharedSpec = await client.draftSpec(projectId, 'ingest shared')
    const shared = await Promise.all(Array.from({ length: SENDERS }, () => runningSandbox(database, sharedSpec)))

    const specOfSandbox = new Map<string, string>([
      ...own.map((o) => [o.sandbox.id, o.specId] as [string, string]),
      ...shared.map((s) => [s.id, sharedSpec] as [string, string]),
    ])
    bare = await startBareServer(database.sql, specOfSandbox, 'same-sql')
    oneStatement = await startBareServer(database.sql, specOfSandbox, 'one-statement')
    withSandboxRow = await startBareServer(database.sql, specOfSandbox, 'same-sql+sandbox-row')

    const realTargets = (sbx: { id: string; token: string }[]) => sbx.map((s) => ({ url: `${server.url}/api/v1/sandboxes/${s.id}/events`, token: s.token }))
    const bareTargets = (sbx: { id: string }[], at = bare!.url) => sbx.map((s) => ({ url: `${at}/sandboxes/${s.id}/events`, token: null }))
    const ownSandboxes = own.map((o) => o.sandbox)

    // Every round measures every variant, in an order rotated from round to round, in short windows: outside load on
    // this shared machine then lands on all variants alike, and the medians are read.
    const variants: Variant[] = [
      { key: 'real', label: `real endpoint, ${SENDERS} specs`, targets: realTargets(ownSandboxes), batch: BATCH },
      { key: 'bare', label: `bare Hono, ${SENDERS} specs`, targets: bareTargets(ownSandboxes), batch: BATCH },
      { key: 'bareRow', label: `bare Hono + sandbox row read and heartbeat, ${SENDERS} specs`, targets: bareTargets(ownSandboxes, withSandboxRow!.url), batch: BATCH },
      { key: 'realShared', label: 'real endpoint, one spec', targets: realTargets(shared), batch: BATCH },
      { key: 'bareShared', label: 'bare Hono, one spec', targets: bareTargets(shared), batch: BATCH },
      { key: 'realSingle', label: 'real endpoint, one spec, 1 event per POST', targets: realTargets(shared), batch: 1 },
      { key: 'bareSingle', label: 'bare Hono, one spec, 1 event per POST', targets: bareTargets(shared), batch: 1 },
      { key: 'oneSingle', label: 'one-statement what-if, one spec, 1 event per POST', targets: bareTargets(shared, oneStatement!.url), batch: 1 },
    ]
    const runs = new Map<string, Measured[]>(variants.map((v) => [v.key, []]))
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < variants.length; k++) {
        const v = variants[(k + round) % variants.length]!
        progress(`ingest round ${round + 1}/${ROUNDS}: ${v.label}`)
        runs.get(v.key)!.push(await measure(database.sql, v.targets, v.batch))
      }
    }
    const errors = [...runs.values()].flat().flatMap((m) => m.errors)
    if (errors.length) throw new Error(`senders got errors: ${errors.join(' | ')}`)

    const med = (key: string) => {
      const ms = runs.get(key)!
      return { eventsPerSec: median(ms.map((m) => m.eventsPerSec)), p50: median(ms.map((m) => m.p50)), p99: median(ms.map((m) => m.p99)), errors: [] }
    }
    const ratioOf = (a: string, b: string) => med(a).eventsPerSec / med(b).eventsPerSec
    const [real, bareM, bareRow, realShared, bareShared, realSingle, bareSingle, oneSingle] = [
      'real', 'bare', 'bareRow', 'realShared', 'bareShared', 'realSingle', 'bareSingle', 'oneSingle',
    ].map(med) as Measured[]
    const ratio = ratioOf('real', 'bare')
    const perRound = (key: string) => runs.get(key)!.map((m) => fmt(m.eventsPerSec, 0)).join(', ')
    return {
      name: 'ingest',
      figure: `${fmt(real!.eventsPerSec, 0)} events/s through POST /api/v1/sandboxes/:id/events (${SENDERS} senders × batches of ${BATCH}, one spec each)`,
      baseline: `${fmt(bareM!.eventsPerSec, 0)} events/s, bare Hono endpoint with the same insert`,
      ratio,
      ratioLabel: `${ratio.toFixed(2)}× of bare (medians of ${ROUNDS} windows each)`,
      notes: [
        `real ${describe(real!)} — windows: ${perRound('real')}`,
        `bare ${describe(bareM!)} — windows: ${perRound('bare')}`,
        `what-if, bare + the sandbox row read and heartbeat write the real endpoint does per POST: ${describe(bareRow!)} → ${ratioOf('bareRow', 'bare').toFixed(2)}× of bare`,
        `${SENDERS} senders on ONE spec: real ${describe(realShared!)}; bare ${describe(bareShared!)} → ${ratioOf('realShared', 'bareShared').toFixed(2)}×`,
        `${SENDERS} senders on ONE spec, 1 event per POST: real ${describe(realSingle!)}; bare ${describe(bareSingle!)} → ${ratioOf('realSingle', 'bareSingle').toFixed(2)}×`,
        `what-if, appendEvents as ONE statement (bare endpoint, one spec, 1 event per POST): ${describe(oneSingle!)} → ${ratioOf('oneSingle', 'bareSingle').toFixed(2)}× of bare`,
        `event log checked after every window: ${fmt(checked.events, 0)} events, ${checked.bad} out of sequence`,
        `${WINDOW_MS / 1000} s windows after ${WARMUP_MS / 1000} s warm-up, each from an empty log; ${loadNote()}`,
      ],
    }
  } finally {
    await bare?.close()
    await oneStatement?.close()
    await withSandboxRow?.close()
    await server.stop()
    await database.close()
  }
}

runIfMain(import.meta.url, ingestBench)
