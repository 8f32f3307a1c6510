import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { asUser, type Api } from '../support/api.ts'
import { startChildServer, type ChildServer } from '../support/child-server.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { allEvents, launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { freePort, killWorkersUnder } from '../support/stack.ts'
import { tempDir } from '../support/temp.ts'
import { waitFor } from '../support/wait.ts'

/**
 * A keyed command whose server dies between the transition it caused and the storing of its answer (README,
 * Idempotency keys): one request, one outcome. The answer's write is held at the database (a trigger waits on an
 * advisory lock this test holds), the server is killed (SIGKILL) and that write's backend ended with it, as if the
 * process had died before sending it; the server restarts on the same database, and the retry with the same key, once
 * the unanswered reservation counts as abandoned, gets the approval applied once (200), never the 409 ("not awaiting
 * approval") of its own first try. PostgreSQL only: holding the lock needs a second connection.
 */
const enabled = !!process.env.DATABASE_URL
/** The advisory lock the answers' trigger waits on (any number: the database is this file's own). */
const ANSWERS_LOCK = 4242
/** A reservation left unanswered this long counts as abandoned (src/actors/command-keys.ts, README: 60 s). */
const ABANDONED_S = 60

let model: FakeModel
let database: Database
let dataDir: string
let env: Record<string, string>
let server: ChildServer | undefined
let owner: Api
let specId: string

beforeAll(async () => {
  if (!enabled) return
  ;[model, database] = await Promise.all([startFakeModel(), freshDatabase()])
  dataDir = await tempDir('idem-crash')
  const port = await freePort()
  env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    OMOI_DATA_DIR: dataDir,
    OMOI_PUBLIC_URL: `http://127.0.0.1:${port}`,
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: model.url,
    DATABASE_URL: database.url,
  }
  server = await startChildServer(env)
  owner = await asUser(server.url, 'Owner')
}, 150_000)

afterAll(async () => {
  await server?.kill('SIGTERM')
  if (dataDir) await killWorkersUnder(dataDir)
  await model?.close()
  await database?.close()
})

const approve = (key: string) => owner.request('POST', `/specs/${specId}/approve`, { phase: 'requirements' }, { 'idempotency-key': key })

describe('a keyed command whose server died before its answer was stored', () => {
  it.skipIf(!enabled)('the retry after the restart gets the command applied once (200), never a 409 for its own first try', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    specId = await launchSpec(owner, project.id, 'Crash before the answer', { approval: 'manual' })
    expect(await waitForStatus(owner, specId, ['awaiting_approval', 'failed'])).toMatchObject({ status: 'awaiting_approval', current_phase: 'requirements' })

    // every answer's write waits for the lock held here; reservations (no status yet) go through
    const { sql } = database
    await sql.unsafe(`
      create function hold_answers() returns trigger language plpgsql as $$
      begin perform pg_advisory_xact_lock_shared(${ANSWERS_LOCK}); return new; end $$;
      create trigger hold_answers before insert or update on idempotency_keys
        for each row when (new.status is not null) execute function hold_answers();`)
    const holder = await sql.reserve()
    await holder`select pg_advisory_lock(${ANSWERS_LOCK})`

    const key = randomUUID()
    const first = approve(key).catch((err: unknown) => err)
    const [waiting] = await waitFor(
      () => sql<{ pid: number }[]>`select pid from pg_locks where locktype = 'advisory' and not granted and objid = ${ANSWERS_LOCK}`
        .then((rows) => (rows.length ? rows : null)),
      { timeoutMs: 30_000, what: 'the answer of the approval to wait for the lock' },
    )
    await server!.kill('SIGKILL')
    server = undefined
    // the server's statement dies with it (PostgreSQL would otherwise run it once the lock is free)
    await sql`select pg_terminate_backend(${waiting!.pid}, 5000)`
    expect(await first).toBeInstanceOf(Error)
    await holder`select pg_advisory_unlock(${ANSWERS_LOCK})`
    holder.release()
    await sql.unsafe('drop trigger hold_answers on idempotency_keys; drop function hold_answers()')

    server = await startChildServer(env)
    // neither the approval nor its answer was stored: the spec still awaits it
    expect((await owner.get(`/specs/${specId}`)).body).toMatchObject({ status: 'awaiting_approval', current_phase: 'requirements' })
    // the key is an unanswered reservation; it counts as abandoned after 60 s: aged here rather than waited for
    const aged = await sql`update idempotency_keys set created_at = created_at - ${ABANDONED_S + 1} * interval '1 second'
      where key = ${key} and status is null returning 1`
    expect(aged).toHaveLength(1)

    const retry = await approve(key)
    expect(retry.status, JSON.stringify(retry.body)).toBe(200)
    expect(retry.headers.get('idempotent-replayed'), 'applied by the retry, the first try having stored nothing').toBeNull()
    expect(retry.body).toMatchObject({ spec_id: specId, status: 'executing', current_phase: 'design' })
    const again = await approve(key)
    expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([200, 'true'])
    expect(again.body).toEqual(retry.body)
    const approvals = (await allEvents(owner, specId)).filter((e) => e.type === 'spec.approved')
    expect(approvals.map((e) => e.data.phase)).toEqual(['requirements'])
    expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
  }, 150_000)
})
