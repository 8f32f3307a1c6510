import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import { startFakeDaytona, type FakeDaytona } from '../support/fake-daytona.ts'
import { allEvents, startWithModel, waitForStatus } from '../support/omoi.ts'
import type { FakeModel } from '../support/fake-model.ts'
import type { TestServer } from '../support/server.ts'

let daytona: FakeDaytona
let server: TestServer
let model: FakeModel
let owner: Api

beforeAll(async () => {
  daytona = await startFakeDaytona()
  ;({ server, model } = await startWithModel({}, { OMOI_SANDBOX: 'daytona', DAYTONA_API_KEY: daytona.apiKey, DAYTONA_API_URL: daytona.url }))
  owner = await asUser(server.url, 'Owner')
})
afterAll(async () => {
  await server?.stop()
  await model?.close()
  await daytona?.close()
})

describe('a spec on Daytona sandboxes (the real SDK against a fake of the Daytona API)', () => {
  it('creates the phase sandbox with the sandbox environment and labels, and no secret of the server', async () => {
    const project = (await owner.post('/projects', { name: 'Remote', repo_url: 'https://git.example.com/acme/shop.git' })).body
    const launch = await owner.post('/specs/launch', { project_id: project.id, title: 'OAuth login', description: 'add OAuth login' })
    expect(launch.status).toBe(201)
    const sandboxId: string = launch.body.sandbox_id
    expect(sandboxId).toMatch(/^sbx_/)
    const created = [...daytona.sandboxes.values()].find((s) => s.labels['omoi.sandbox'] === sandboxId)!
    expect(created.labels).toMatchObject({ 'omoi.spec': launch.body.spec_id, 'omoi.kind': 'phase', 'omoi.phase': 'explore' })
    expect(Object.keys(created.env).sort()).toEqual(
      ['ANTHROPIC_BASE_URL', 'OMOI_CALLBACK_URL', 'OMOI_MODEL', 'OMOI_SANDBOX_ID', 'OMOI_SANDBOX_TOKEN', 'SPEC_ID', 'SPEC_PHASE'].sort(),
    )
    expect(JSON.stringify(created.env)).not.toContain('test-key')

    // cancelling the spec deletes its sandbox
    expect((await owner.post(`/specs/${launch.body.spec_id}/cancel`)).status).toBe(200)
    await waitForStatus(owner, launch.body.spec_id, ['cancelled'])
    await expect.poll(() => daytona.sandboxes.get(created.id)?.state, { timeout: 15_000 }).toBe('destroyed')
  })

  it('an error of the Daytona API fails the phase with a clear event', async () => {
    const project = (await owner.post('/projects', { name: 'Broken', repo_url: 'https://git.example.com/acme/shop.git' })).body
    daytona.failNext(500, { message: 'no capacity in region us' }, { method: 'POST', path: '/api/sandbox' })
    const launch = await owner.post('/specs/launch', { project_id: project.id, title: 'OAuth login', description: 'add OAuth login' })
    const spec = await waitForStatus(owner, launch.body.spec_id, ['failed'])
    expect(spec.current_phase).toBe('explore')
    const failed = (await allEvents(owner, spec.id)).find((e) => e.type === 'spec.phase_failed')!
    expect(failed.data.error).toMatch(/^the sandbox could not start: Daytona could not create the sandbox/)
    expect(failed.data.error).not.toMatch(/\n\s+at /)
  })
})
