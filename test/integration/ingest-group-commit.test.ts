import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Sql } from '../../src/db/connect.ts'
import { appendEvents } from '../../src/db/events.ts'
import { insertSandbox } from '../../src/db/sandboxes.ts'
import { hashToken, newId, newSecret, newUuid } from '../../src/ids.ts'
import type { SpecEvent } from '../../src/schemas/events.ts'
import { asUser, type Api } from '../support/api.ts'
import { allEvents } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

let server: TestServer
let owner: Api
let projectId: string

const draft = async (title: string): Promise<string> =>
  (await owner.post('/specs', { project_id: projectId, title, description: `${title}, please` })).body.id

const message = (text: string) => ({ id: newUuid(), type: 'agent.message', data: { text }, source: 'agent' as const })

/** A running sandbox of the spec, as the runner leaves it once the worker started, with its token. */
async function sandboxOf(specId: string): Promise<{ id: string; token: string }> {
  const token = newSecret()
  const row = await insertSandbox(server.database.sql, {
    id: newId('sbx'),
    spec_id: specId,
    kind: 'phase',
    phase: 'explore',
    task_id: null,
    attempt: 1,
    generation: 0,
    token_hash: hashToken(token),
    provider: 'local',
  })
  await server.database.sql`update sandboxes set status = 'running', last_heartbeat_at = now() where id = ${row.id}`
  return { id: row.id, token }
}

beforeAll(async () => {
  server = await startTestServer()
  owner = await asUser(server.url, 'Owner')
  projectId = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body.id
})
afterAll(async () => {
  await server?.stop()
})

describe('ingest group commit', () => {
  it('writes appends that wait for the same spec in one statement, each caller getting its own events in order', async () => {
    const specId = await draft('Grouped')
    const published: SpecEvent[][] = []
    const off = server.host.bus.subscribe((m) => m.kind === 'events' && m.specId === specId && published.push(m.events))
    const calls = Array.from({ length: 12 }, (_, i) => Array.from({ length: 5 }, (_, j) => message(`call ${i} event ${j}`)))
    const shared = calls[0]![0]! // sent again by the last caller (a retry racing its first try): stored once
    calls[11]!.push(shared)
    const results = await Promise.all(calls.map((events) => server.host.appendEvents(specId, events)))
    off()

    const log = await allEvents(owner, specId)
    expect(log.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
    // one statement: one transaction time for every row, one bus message with all of them
    const rows = await server.database.sql<{ times: number }[]>`
      select count(distinct created_at)::int as times from sandbox_events where spec_id = ${specId}`
    expect(rows[0]!.times).toBe(1)
    expect(published.map((p) => p.length)).toEqual([60])
    results.forEach((result, i) => {
      expect(result.written.map((e) => e.data.text)).toEqual(calls[i]!.slice(0, 5).map((e) => e.data.text))
      expect(result.written.map((e) => e.seq)).toEqual(Array.from({ length: 5 }, (_, j) => i * 5 + j + 1))
      expect(result.duplicates).toBe(i === 11 ? 1 : 0)
    })
  })

  it('fails only the call at fault when a merged statement fails', async () => {
    const specId = await draft('One bad call')
    const good = [message('before'), message('after')]
    const results = await Promise.allSettled([
      server.host.appendEvents(specId, [good[0]!]),
      server.host.appendEvents(specId, [{ ...message('bad'), id: 'not-a-uuid' }]),
      server.host.appendEvents(specId, [good[1]!]),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((await allEvents(owner, specId)).map((e) => [e.seq, e.data.text])).toEqual([
      [1, 'before'],
      [2, 'after'],
    ])
  })

  it('takes concurrent posts of several sandboxes through the real endpoint, and still refuses a wrong token', async () => {
    const specId = await draft('Four senders')
    const senders = await Promise.all(Array.from({ length: 4 }, () => sandboxOf(specId)))
    const post = (sandbox: { id: string }, token: string, events: unknown[]) =>
      fetch(`${server.url}/api/v1/sandboxes/${sandbox.id}/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
      })
    const batches = senders.flatMap((s, i) => Array.from({ length: 5 }, (_, k) => ({ s, events: Array.from({ length: 10 }, (_, j) => message(`${i}.${k}.${j}`)) })))
    const answers = await Promise.all(batches.map(async ({ s, events }) => (await post(s, s.token, events)).json()))
    expect(answers).toEqual(batches.map(() => ({ accepted: 10, duplicates: 0 })))
    const log = await allEvents(owner, specId)
    expect(log.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    // every post's events are consecutive in the log
    for (const { events } of batches) {
      const seqs = events.map((e) => log.find((l) => l.id === e.id)!.seq)
      expect(seqs).toEqual(seqs.map((_, j) => seqs[0]! + j))
    }
    // the token check answered from memory still compares the token
    const wrong = await post(senders[0]!, senders[1]!.token, [message('intruder')])
    expect(wrong.status).toBe(401)
  })

  it('checks incoming ids against the log by index however much the log grew since the append was first planned', async () => {
    const specId = await draft('Growing log')
    const { sql } = server.database
    // one session (the plan cache is per session; embedded PGlite is one); no ANALYZE meanwhile, as on a young
    // database between autovacuum runs
    await sql`alter table sandbox_events set (autovacuum_enabled = false)`
    const reserved = server.database.embedded ? null : await sql.reserve()
    const session = (reserved ?? sql) as unknown as Sql
    try {
      for (let i = 0; i < 8; i++) await appendEvents(session, specId, [message(`small log ${i}`)])
      const other = await draft('Someone else')
      await session`insert into sandbox_events (seq, id, spec_id, type, data, source)
        select n, gen_random_uuid(), ${other}, 'agent.message', '{}', 'agent' from generate_series(1, 20000) n`
      const seqRead = async () => {
        await session`select pg_stat_force_next_flush()`
        await session`select pg_stat_clear_snapshot()`
        const [row] = await session<{ n: number }[]>`select seq_tup_read::int8 as n from pg_stat_user_tables where relname = 'sandbox_events'`
        return row!.n
      }
      const before = await seqRead()
      const { written } = await appendEvents(session, specId, [message('large log'), message('and another')])
      expect(written.map((e) => e.seq)).toEqual([9, 10])
      // a plan cached with the log at 8 rows scanned all 20,010 of them for every batch (4 ms → 12 ms per 100 events)
      expect((await seqRead()) - before).toBeLessThan(1_000)
    } finally {
      reserved?.release()
      await sql`alter table sandbox_events reset (autovacuum_enabled)`
    }
  })
})
