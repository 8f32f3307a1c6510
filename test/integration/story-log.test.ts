import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { asUser, type Api } from '../support/api.ts'
import { startChildServer, type ChildServer } from '../support/child-server.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { freePort, killWorkersUnder } from '../support/stack.ts'
import { tempDir } from '../support/temp.ts'

/** The server's own log (stderr of `npm start`'s command) tells what happened to a spec, one JSON line per step. */

let model: FakeModel
let database: Database | undefined
let dataDir: string
let server: ChildServer
let owner: Api

beforeAll(async () => {
  model = await startFakeModel()
  if (process.env.DATABASE_URL) database = await freshDatabase()
  dataDir = await tempDir('story')
  server = await startChildServer({
    PORT: String(await freePort()),
    OMOI_DATA_DIR: dataDir,
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: model.url,
    OMOI_LOG_LEVEL: 'debug',
    ...(database ? { DATABASE_URL: database.url } : {}),
  })
  owner = await asUser(server.url, 'Owner')
})
afterAll(async () => {
  await server?.kill('SIGTERM')
  if (dataDir) await killWorkersUnder(dataDir)
  await model?.close()
  await database?.close()
})

type Line = { level: string; scope: string; msg: string; spec_id?: string; [k: string]: unknown }
const lines = (): Line[] =>
  server
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line)

describe('the log of a spec reads as its story', () => {
  it('launched, phases started, rejected and accepted with scores, approval, tasks, completed — and access lines with request ids', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const launch = await owner.post('/specs/launch', { project_id: project.id, title: 'Story', description: 'tell it', approval: 'manual' })
    expect(launch.status).toBe(201)
    const specId: string = launch.body.spec_id
    for (;;) {
      const spec = await waitForStatus(owner, specId, ['awaiting_approval', 'completed', 'failed'], 120_000)
      if (spec.status !== 'awaiting_approval') {
        expect(spec.status).toBe('completed')
        break
      }
      expect((await owner.post(`/specs/${specId}/approve`, { phase: spec.current_phase })).status).toBe(200)
    }

    const story = lines().filter((l) => l.scope === 'omoi:story' && l.spec_id === specId)
    expect(story.every((l) => l.level === 'info')).toBe(true)
    const said = story.map((l) => l.msg)
    expect(said[0]).toBe('spec launched')
    expect(said.at(-1)).toBe('spec completed')
    expect(story.find((l) => l.msg === 'phase started')).toMatchObject({ phase: 'explore', attempt: 1 })
    const rejected = story.find((l) => l.msg === 'phase rejected')!
    expect(rejected).toMatchObject({ phase: expect.any(String), attempt: 1 })
    expect(rejected.score).toBeLessThan(0.7)
    const accepted = story.filter((l) => l.msg === 'phase accepted')
    expect(accepted.map((l) => l.phase)).toEqual(['explore', 'requirements', 'design', 'tasks', 'sync', 'execute'].filter((p) => accepted.some((a) => a.phase === p)))
    expect(accepted.find((l) => l.phase === 'requirements')!.score).toBeGreaterThanOrEqual(0.7)
    for (const phase of ['requirements', 'design', 'tasks']) {
      expect(story, phase).toContainEqual(expect.objectContaining({ msg: 'awaiting approval', phase }))
      expect(story, phase).toContainEqual(expect.objectContaining({ msg: 'approved', phase, by: owner.user!.id }))
    }
    expect(story).toContainEqual(expect.objectContaining({ msg: 'task started', task_id: 'TSK-001' }))
    expect(story).toContainEqual(expect.objectContaining({ msg: 'task completed', task_id: 'TSK-001' }))

    const access = lines().find((l) => l.scope === 'omoi:http' && l.msg === 'request' && l.path === '/api/v1/specs/launch')
    expect(access).toMatchObject({ level: 'debug', method: 'POST', status: 201, request_id: launch.headers.get('x-request-id') })
  })
})
