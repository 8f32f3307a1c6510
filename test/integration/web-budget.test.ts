import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectCast, type Api } from '../support/api.ts'
import { launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { startStack, type Stack } from '../support/stack.ts'

/** Issue 14 case 4: a spec paused over its budget can be given more, and then resumes. */

let stack: Stack
let owner: Api
let viewer: Api
let outsider: Api
let projectId: string

beforeAll(async () => {
  stack = await startStack()
  ;({ owner, viewer, outsider, projectId } = await projectCast(stack.server.url, await makeRepo()))
})
afterAll(() => stack?.stop())

describe('PATCH /specs/:id {budget_usd}', () => {
  it('raising the budget of a spec paused over it makes resume work, and the spec runs on', async () => {
    const specId = await launchSpec(owner, projectId, 'Tiny budget', { budget_usd: 0.0001 })
    const paused = await waitForStatus(owner, specId, ['paused', 'completed', 'failed'])
    expect(paused.status).toBe('paused')
    expect((await owner.post(`/specs/${specId}/resume`)).status).toBe(402)

    const raised = await owner.request('PATCH', `/specs/${specId}`, { budget_usd: 50 })
    expect(raised.status, JSON.stringify(raised.body)).toBe(200)
    expect(raised.body).toMatchObject({ id: specId, budget_usd: 50, status: 'paused' })
    expect((await owner.get(`/specs/${specId}`)).body.budget_usd).toBe(50)

    const resumed = await owner.post(`/specs/${specId}/resume`)
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200)
    const done = await waitForStatus(owner, specId, ['completed', 'failed', 'paused'], 120_000)
    expect(done.status).toBe('completed')
  }, 180_000)

  it('only the owner and editors may; bad amounts are a 400 naming budget_usd; strangers get 404', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Budgeted', description: 'x' })).body.id
    const asViewer = await viewer.request('PATCH', `/specs/${specId}`, { budget_usd: 5 })
    expect(asViewer.status).toBe(403)
    expect(asViewer.body.error.code).toBe('forbidden')
    expect((await outsider.request('PATCH', `/specs/${specId}`, { budget_usd: 5 })).status).toBe(404)
    for (const body of [{ budget_usd: -1 }, { budget_usd: 'lots' }, {}]) {
      const bad = await owner.request('PATCH', `/specs/${specId}`, body)
      expect(bad.status, JSON.stringify(body)).toBe(400)
      expect(Object.keys(bad.body.error.fields ?? {})).toEqual(['budget_usd'])
    }
    const cleared = await owner.request('PATCH', `/specs/${specId}`, { budget_usd: null })
    expect(cleared.body.budget_usd).toBeNull()
  })
})
