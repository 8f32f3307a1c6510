import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tasks } from '../../src/schemas/phase-outputs.ts'
import { asUser, type Api } from '../support/api.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { goodTasks } from '../support/fixtures.ts'
import { allEvents, launchSpec, startWithModel, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { waitForEvent } from '../support/stack.ts'
import type { TestServer } from '../support/server.ts'
import { waitFor } from '../support/wait.ts'

let server: TestServer
let model: FakeModel
let owner: Api
let projectId: string

beforeAll(async () => {
  ;({ server, model } = await startWithModel({ skipBadSubmit: true }))
  owner = await asUser(server.url, 'Owner')
  projectId = (await owner.post('/projects', { name: 'Todos', repo_url: await makeRepo() })).body.id
})
afterAll(async () => {
  await server?.stop()
  await model?.close()
})

describe('verdicts through the real server', () => {
  it('stores coverage per criterion when tasks cite criteria, and tells the model which criteria no task implements', async () => {
    const plan: Tasks = structuredClone(goodTasks) as Tasks
    plan.tasks[0]!.requirements = ['REQ-001.1']
    plan.tasks[1]!.requirements = ['REQ-001.1', 'REQ-002']
    model.setScenario({ skipBadSubmit: true, outputs: { submit_tasks: plan } })
    const specId = await launchSpec(owner, projectId, 'Due dates')

    const sync = await waitFor(async () => (await owner.get(`/specs/${specId}/artifacts`)).body.sync, {
      timeoutMs: 90_000,
      intervalMs: 200,
      what: 'the sync artifact',
    })
    expect(sync.uncovered_criteria).toEqual(['REQ-001.2'])
    expect(sync.coverage[0]).toEqual({
      requirement: 'REQ-001',
      title: 'Set a due date on a todo',
      tasks: ['TSK-001', 'TSK-002'],
      criteria: [
        { id: 'REQ-001.1', text: 'PATCH /todos/:id with due_at returns the todo with due_at', tasks: ['TSK-001', 'TSK-002'] },
        { id: 'REQ-001.2', text: 'GET /todos/:id returns the stored due_at', tasks: [] },
      ],
    })
    // The accepted verdict ends the conversation; what the agent was told is in its tool result event, which the worker
    // posts with its last batch, after the phase was accepted
    const submitted = await waitForEvent(owner, specId, (e) => e.type === 'agent.tool_result' && e.data.tool === 'submit_tasks', 'the submit_tasks result')
    expect(submitted?.data).toMatchObject({ ok: true, summary: expect.stringContaining('- acceptance criteria no task implements (REQ-001.2)') })
    await owner.post(`/specs/${specId}/cancel`)
  })

  it('fails a vague requirements phase, naming the requirement and the phrase in every retry', async () => {
    const vague = {
      requirements: [{ id: 'REQ-001', title: 'Fast todo list', ears: 'THE SYSTEM SHALL be fast', priority: 'must', acceptance_criteria: ['it works well'] }],
    }
    model.setScenario({ skipBadSubmit: true, outputs: { submit_requirements: vague } })
    const specId = await launchSpec(owner, projectId, 'Make it fast')

    const spec = await waitForStatus(owner, specId, ['failed', 'completed'])
    expect(spec.status).toBe('failed')
    const events = await allEvents(owner, specId)
    const retries = events.filter((e) => e.type === 'spec.phase_retry' && e.data.phase === 'requirements')
    expect(retries.length).toBeGreaterThan(0)
    for (const retry of retries) {
      expect(retry.data.feedback).toMatch(/^Rejected \(score 0\.00\): 1 hard rule failed/)
      expect(retry.data.feedback).toContain('- REQ-001 is vague ("fast") and no criterion measures it')
    }
    const failed = events.find((e) => e.type === 'spec.phase_failed')
    expect(JSON.stringify(failed?.data)).toContain('REQ-001 is vague (\\"fast\\")')
  })
})
