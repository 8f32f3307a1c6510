import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { asUser, type Api } from '../support/api.ts'
import { startChildServer, type ChildServer } from '../support/child-server.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { conversationSteps, startModelGate, type ModelGate } from '../support/model-gate.ts'
import { waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { tempDir } from '../support/temp.ts'
import { everyEvent, freePort, isWorker, killWorkersUnder, logProblems, waitForEvent } from '../support/stack.ts'

/**
 * kill -9 of the server while a phase's worker runs (CONTRACT §7: "the worker retries every call with backoff … so a
 * server restart loses nothing"). The server runs as its own process, `npm start`'s command, with a fixed port and
 * OMOI_PUBLIC_URL so the sandboxes call back on the same address after the restart. With DATABASE_URL it uses a fresh
 * database there; without, the embedded PGlite kept in OMOI_DATA_DIR (what `npm start` does with nothing configured).
 */

let model: FakeModel
let gate: ModelGate
let database: Database | undefined
let dataDir: string
let env: Record<string, string>
let server: ChildServer | undefined
let owner: Api

beforeAll(async () => {
  model = await startFakeModel()
  gate = await startModelGate(model.url)
  if (process.env.DATABASE_URL) database = await freshDatabase()
  dataDir = await tempDir('kill')
  const port = await freePort()
  env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    OMOI_DATA_DIR: dataDir,
    OMOI_PUBLIC_URL: `http://127.0.0.1:${port}`,
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: gate.url,
    ...(database ? { DATABASE_URL: database.url } : {}),
  }
  server = await startChildServer(env)
  owner = await asUser(server.url, 'Owner')
}, 150_000)

afterAll(async () => {
  await server?.kill('SIGTERM')
  if (dataDir) await killWorkersUnder(dataDir)
  await gate?.close()
  await model?.close()
  await database?.close()
})

describe('the server killed (SIGKILL) while a phase runs', () => {
  it('comes back on the same port; the worker’s retried callbacks land, nothing is lost or doubled, the spec completes', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    // the worker's second model call waits: the explore phase is surely under way when the server dies
    const hold = gate.hold((r) => r.submitTool === 'submit_exploration' && r.called.length === 1, 1)
    const launch = await owner.post('/specs/launch', { project_id: project.id, title: 'Due dates', description: 'add due dates to todos' })
    expect(launch.status, JSON.stringify(launch.body)).toBe(201)
    const specId: string = launch.body.spec_id
    await hold.first()
    const started = await waitForEvent(owner, specId, (e) => e.type === 'spec.phase_started' && e.data.phase === 'explore', 'explore to start')
    const sandboxId: string = started.data.sandbox_id
    const pid = Number(await readFile(join(dataDir, 'sandboxes', sandboxId, 'pid'), 'utf8'))
    await waitForEvent(owner, specId, (e) => e.type === 'agent.tool_result' && e.sandbox_id === sandboxId, 'the first tool result to be stored')

    await server!.kill('SIGKILL')
    server = undefined
    // with the server dead the worker cannot reach the model (its calls go through the server) nor report: it keeps
    // retrying, and its work lands when a server is back
    hold.release()
    expect(await isWorker(pid), 'the worker outlives the server').toBe(true)

    server = await startChildServer(env)
    expect(server.url).toBe(env.OMOI_PUBLIC_URL)
    const spec = await waitForStatus(owner, specId, ['completed', 'failed', 'cancelled'], 90_000)
    const events = await everyEvent(owner, specId)
    expect(spec.status, JSON.stringify(events.filter((e) => /failed|error/.test(e.type)))).toBe('completed')

    // one worker, one conversation: every model answer produced exactly one agent.usage, every tool call one use + result
    const explore = events.filter((e) => e.sandbox_id === sandboxId && e.source === 'agent')
    const steps = conversationSteps(gate.requests.filter((r) => r.submitTool === 'submit_exploration'))
    expect(steps).toBe(4)
    const count = (type: string) => explore.filter((e) => e.type === type).length
    expect(count('agent.usage'), 'one usage event per model answer').toBe(steps)
    expect(count('agent.tool_use')).toBe(4)
    expect(count('agent.tool_result')).toBe(4)
    expect(count('agent.started')).toBe(1)
    expect(count('agent.completed')).toBe(1)
    expect(explore.filter((e) => e.type === 'agent.tool_use').map((e) => e.data.tool)).toEqual([
      'list_files',
      'read_file',
      'submit_exploration',
      'submit_exploration',
    ])
    // the draft was evaluated once (its retried post is idempotent), the phase completed in its first attempt
    expect(events.filter((e) => e.type === 'spec.phase_retry' && e.data.phase === 'explore')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'spec.phase_started' && e.data.phase === 'explore').map((e) => e.data.sandbox_id)).toEqual([sandboxId])
    expect(events.filter((e) => e.type === 'spec.sandbox_replaced')).toEqual([])
    expect(spec.phases.find((p: { phase: string }) => p.phase === 'explore')).toMatchObject({ status: 'completed', attempts: 1 })
    expect(logProblems(events)).toEqual([])

    if (database) {
      const rows = await database.sql<{ id: string; attempt: number; generation: number }[]>`
        select id, attempt, generation from sandboxes where spec_id = ${specId} and phase = 'explore'`
      expect(rows).toEqual([{ id: sandboxId, attempt: 1, generation: 0 }])
      const [results] = await database.sql<{ n: number }[]>`select count(*)::int8 as n from phase_results where sandbox_id = ${sandboxId}`
      expect(results!.n, 'the draft and the accepted submission, each stored once').toBe(2)
    }
  }, 150_000)
})
