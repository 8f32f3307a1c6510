import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres, type Database } from '../../src/db/connect.ts'
import { migrate } from '../../src/db/migrate.ts'
import { asUser, type Api } from '../support/api.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { forSpec, startModelGate, type Hold, type ModelGate } from '../support/model-gate.ts'
import { launchSpec, waitForStatus } from '../support/omoi.ts'
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.ts'
import { makeRepo } from '../support/repo.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { everyEvent, killWorkersUnder, logProblems, runningSandbox, sandboxesOf } from '../support/stack.ts'
import { waitFor } from '../support/wait.ts'

/**
 * PostgreSQL restarted at three moments of a run — during a phase, at a submission, during tasks — is a wait, never a
 * failure: the spec completes with a gapless log, no row left unfinished and no phase run twice (issue 11, case 4).
 */

let pg: PrivatePostgres
let database: Database
let model: FakeModel
let gate: ModelGate
let server: TestServer
let dataDir: string
let owner: Api

beforeAll(async () => {
  pg = await startPrivatePostgres()
  database = await openPostgres(pg.url)
  await migrate(database)
  model = await startFakeModel({ skipBadSubmit: true })
  gate = await startModelGate(model.url)
  dataDir = await mkdtemp(join(tmpdir(), 'omoi-data-'))
  server = await startTestServer(
    { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: gate.url, OMOI_TASK_CONCURRENCY: '1' },
    { database, dataDir },
  )
  owner = await asUser(server.url, 'Owner')
}, 120_000)

afterAll(async () => {
  await server?.close().catch(() => {})
  if (dataDir) await killWorkersUnder(dataDir)
  await gate?.close()
  await model?.close()
  await database?.close().catch(() => {})
  await pg?.destroy()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

const readyz = async () => (await fetch(`${server.url}/readyz`)).status

/**
 * Stops PostgreSQL once `hold` has parked a model call, lets the worker go on against the dead database, then starts it.
 * `prepare` runs before the stop (reading what it needs) and answers what to wait for while the database is down.
 */
async function outage(hold: Hold, prepare: () => Promise<() => Promise<void>> = async () => async () => {}) {
  await hold.first()
  const whileDown = await prepare()
  await pg.stop()
  await waitFor(async () => (await readyz()) === 503, { what: 'the server to notice the database is gone' })
  hold.release()
  await whileDown()
  await pg.start()
}

describe('a PostgreSQL restart', () => {
  it('during a phase, at a submission and during tasks: the spec completes, nothing stuck, nothing run twice', async () => {
    const title = 'Database blips'
    const spec = forSpec(title)
    const duringPhase = gate.hold((r) => spec(r) && r.submitTool === 'submit_exploration' && r.called.length === 1, 1)
    const atSubmission = gate.hold((r) => spec(r) && r.submitTool === 'submit_requirements' && r.called.length === 2, 1)
    const duringTasks = gate.hold((r) => spec(r) && r.taskId === 'TSK-001' && r.called.length === 1, 1)
    const specId = await launchSpec(owner, (await owner.post('/projects', { name: 'Blips', repo_url: await makeRepo() })).body.id, title)

    await outage(duringPhase)
    await outage(atSubmission, async () => {
      const sandbox = await runningSandbox(database.sql, specId, { phase: 'requirements' })
      const workerLog = join(dataDir, 'sandboxes', sandbox.id, 'worker.log')
      // the worker submits (flushing its events first) while the database is down: the server answers 503, it retries
      return async () => {
        await waitFor(async () => /callback failed, retrying/.test(await readFile(workerLog, 'utf8').catch(() => '')), {
          timeoutMs: 30_000,
          what: 'the worker to retry its submission',
        })
      }
    })
    await outage(duringTasks)

    const done = await waitForStatus(owner, specId, ['completed', 'failed', 'cancelled'], 180_000)
    const events = await everyEvent(owner, specId)
    expect(done.status, JSON.stringify(events.filter((e) => /failed|error|replaced/.test(e.type)))).toBe('completed')
    expect(logProblems(events)).toEqual([])
    expect(events.filter((e) => /phase_failed|phase_retry|sandbox_replaced|task_failed|execution_failed/.test(e.type))).toEqual([])
    const started = events.filter((e) => e.type === 'spec.phase_started').map((e) => e.data.phase)
    expect(started).toEqual(['explore', 'requirements', 'design', 'tasks'])
    expect(done.phases.map((p: { phase: string; attempts: number; status: string }) => [p.phase, p.status, p.attempts])).toEqual([
      ['explore', 'completed', 1],
      ['requirements', 'completed', 1],
      ['design', 'completed', 1],
      ['tasks', 'completed', 1],
      ['sync', 'completed', 1],
      ['execute', 'completed', 1],
    ])

    const sql = database.sql
    expect((await sandboxesOf(sql, specId)).filter((s) => s.status !== 'ended')).toEqual([])
    expect(await sql`select key, status from tasks where spec_id = ${specId} and status <> 'completed'`).toEqual([])
    expect(await sql`select key, status from tickets where spec_id = ${specId} and status <> 'done'`).toEqual([])
    const [actor] = await sql<{ final: boolean; state: string }[]>`select final, state from spec_actors where spec_id = ${specId}`
    expect(actor).toMatchObject({ final: true, state: 'completed' })
  }, 300_000)
})
