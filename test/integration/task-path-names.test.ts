import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { startWithModel, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import type { TestServer } from '../support/server.ts'

/**
 * The files a task changed are reported as they are named, whatever git's `core.quotePath` (on by default, and set
 * either way in a user's ~/.gitconfig, which an unconfined worker reads) does to names outside ASCII: a quoted name
 * ("caf\303\251.txt") is no file, so the task's result named files that do not exist and its conflict-marker check
 * could not read them.
 */
let server: TestServer
let model: FakeModel
let owner: Api

beforeAll(async () => {
  ;({ server, model } = await startWithModel(
    { taskFile: (task) => ({ path: `café ${task}.txt`, content: `done for ${task}\n` }) },
    { OMOI_SANDBOX_ISOLATION: 'none' },
  ))
  owner = await asUser(server.url, 'Owner')
})
afterAll(async () => {
  await server?.stop()
  await model?.close()
})

describe('a task that writes a file named outside ASCII', () => {
  it('reports the file by its name', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const launch = await owner.post('/specs/launch', { project_id: project.id, title: 'Names', description: 'add OAuth login' })
    const spec = await waitForStatus(owner, launch.body.spec_id, ['completed', 'failed'])
    expect(spec.status).toBe('completed')
    const ticket = (await owner.get('/board')).body.columns.flatMap((c: any) => c.tickets).find((t: any) => t.spec_id === spec.id)
    const tasks = (await owner.get(`/tickets/${ticket.id}`)).body.tasks
    for (const task of tasks) expect(task.result.files_changed).toEqual([`café ${task.key}.txt`])
  }, 120_000)
})
