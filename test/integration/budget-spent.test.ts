import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import { forSpec } from '../support/model-gate.ts'
import { systemText, toolUseBlock } from '../support/fake-model.ts'
import { launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { everyEvent, runningSandbox, sandboxesOf, startStack, type LoggedEvent, type Stack } from '../support/stack.ts'
import { waitFor } from '../support/wait.ts'

/**
 * A spec whose budget is spent never starts agent work: the commands that would start it answer 402 saying to raise the
 * budget, and a sandbox refused a model call pauses the spec by budget. Before, such a spec burnt three sandboxes (the
 * worker's budget stop read as a lost sandbox) and failed.
 */

let stack: Stack
let owner: Api
let projectId: string

beforeAll(async () => {
  stack = await startStack({}, {}, { tap: true })
  owner = await asUser(stack.server.url, 'Owner')
  projectId = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body.id
})
afterAll(() => stack?.stop())

const sql = () => stack.database.sql
const spec = async (id: string) => (await owner.get(`/specs/${id}`)).body

/** What the budget loop left behind: lost sandboxes, failures. */
const lossesAndFailures = (events: LoggedEvent[]) =>
  events.filter((e) => ['spec.sandbox_replaced', 'spec.phase_failed', 'spec.execution_failed'].includes(e.type)).map((e) => e.type)

const allEnded = (specId: string) =>
  waitFor(async () => (await sandboxesOf(sql(), specId)).every((r) => r.status === 'ended'), { timeoutMs: 30_000, what: 'every sandbox to end' })

describe('a budget that is already spent', () => {
  it('launching with budget_usd 0 is a 402 that says to raise the budget; no spec is made and no model is called', async () => {
    const title = 'Zero budget'
    const res = await owner.post('/specs/launch', { project_id: projectId, title, description: 'd', budget_usd: 0 })
    expect(res.status, JSON.stringify(res.body)).toBe(402)
    expect(res.body.error.code).toBe('budget_exceeded')
    expect(res.body.error.message).toMatch(/budget_usd/)
    expect((await owner.get(`/projects/${projectId}/specs?q=${encodeURIComponent(title)}`)).body.total).toBe(0)
    expect(stack.gate.requests.filter(forSpec(title))).toEqual([])

    // a budget of 0 is still valid input: a draft holds it, and running it is the same 402 until it is raised
    const created = await owner.post('/specs/launch', { project_id: projectId, title, description: 'd', budget_usd: 0, auto_execute: false })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(created.body.status).toBe('created')
    const execute = await owner.post(`/specs/${created.body.spec_id}/execute`)
    expect(execute.status).toBe(402)
    expect(execute.body.error.message).toMatch(/raise/i)
    expect(await spec(created.body.spec_id)).toMatchObject({ status: 'draft', budget_usd: 0 })
  })

  it('a budget lowered to what the spec spent while it awaits approval: approve is a 402 and nothing runs; raised, it runs on', async () => {
    const specId = await launchSpec(owner, projectId, 'Lowered budget', { approval: 'manual' })
    const waiting = await waitForStatus(owner, specId, ['awaiting_approval', 'failed'])
    expect(waiting.status).toBe('awaiting_approval')
    expect(waiting.cost_usd).toBeGreaterThan(0)
    const spent = Math.floor(waiting.cost_usd * 10_000) / 10_000 // at most what it spent, in the column's 4 decimals
    const lowered = await owner.request('PATCH', `/specs/${specId}`, { budget_usd: spent })
    expect(lowered.status, JSON.stringify(lowered.body)).toBe(200)
    expect(lowered.body.budget_usd).toBe(spent)

    const approve = await owner.post(`/specs/${specId}/approve`, { phase: 'requirements' })
    expect(approve.status, JSON.stringify(approve.body)).toBe(402)
    expect(approve.body.error.code).toBe('budget_exceeded')
    expect(approve.body.error.message).toMatch(/raise/i)
    expect(await spec(specId)).toMatchObject({ status: 'awaiting_approval', current_phase: 'requirements' })
    const events = await everyEvent(owner, specId)
    expect(events.filter((e) => e.type === 'spec.approved')).toEqual([])
    expect(lossesAndFailures(events)).toEqual([])

    expect((await owner.request('PATCH', `/specs/${specId}`, { budget_usd: 50 })).status).toBe(200)
    const approved = await owner.post(`/specs/${specId}/approve`, { phase: 'requirements' })
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)
    expect(approved.body.status).toBe('executing')
    await owner.post(`/specs/${specId}/cancel`)
  }, 120_000)

  it('retrying a failed spec whose budget is spent is a 402; the spec stays failed', async () => {
    const title = 'Refused then broke'
    stack.model.setScenario({
      script: (r) => (systemText(r.body.system).includes(title) ? { content: [], stop_reason: 'refusal', stop_details: { type: 'refusal', explanation: 'no' } } : undefined),
    })
    try {
      const specId = await launchSpec(owner, projectId, title)
      expect((await waitForStatus(owner, specId, ['failed', 'paused', 'completed'])).status).toBe('failed')
      expect((await owner.request('PATCH', `/specs/${specId}`, { budget_usd: 0 })).status).toBe(200)
      const retry = await owner.post(`/specs/${specId}/retry`)
      expect(retry.status, JSON.stringify(retry.body)).toBe(402)
      expect(retry.body.error.code).toBe('budget_exceeded')
      expect((await spec(specId)).status).toBe('failed')
      expect((await everyEvent(owner, specId)).filter((e) => e.type === 'spec.retried')).toEqual([])
    } finally {
      stack.model.setScenario({ script: undefined })
    }
  }, 120_000)
})

describe('a running sandbox that reaches the budget', () => {
  it('its model call is refused with 402 and the spec pauses by budget at once; its stop is not a lost sandbox', async () => {
    const title = 'Budget cut mid-phase'
    const hold = stack.gate.hold(forSpec(title), 1)
    const specId = await launchSpec(owner, projectId, title)
    await hold.first()
    const sandbox = await runningSandbox(sql(), specId, { phase: 'explore' })
    const client = new Anthropic({
      apiKey: await stack.tap!.tokenOf(sandbox.id),
      baseURL: `${stack.server.url}/api/v1/sandboxes/${sandbox.id}/model`,
      maxRetries: 0,
    })
    // nothing is charged yet (the first call is parked upstream): a budget of 0 is spent
    expect((await owner.request('PATCH', `/specs/${specId}`, { budget_usd: 0 })).status).toBe(200)

    const refused = await client.messages.create({ model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'go' }] }).catch((e: unknown) => e)
    expect((refused as InstanceType<typeof Anthropic.APIError>).status).toBe(402)
    expect(await spec(specId), 'paused before the worker hears the 402').toMatchObject({ status: 'paused' })
    hold.release()
    await allEnded(specId)

    const events = await everyEvent(owner, specId)
    expect(events.filter((e) => e.type === 'spec.budget_exceeded').map((e) => e.data)).toEqual([{ cost_usd: 0, budget_usd: 0 }])
    expect(events.filter((e) => e.type === 'spec.paused').map((e) => e.data)).toEqual([{ by: 'budget' }])
    expect(lossesAndFailures(events)).toEqual([])
    expect((await spec(specId)).status).toBe('paused')
    expect((await owner.post(`/specs/${specId}/resume`)).status).toBe(402)
  }, 120_000)

  it('a budget lowered below the spend while the agent runs a command: its next call pauses the spec, no sandbox is replaced', async () => {
    const title = 'Budget cut between calls'
    // the first answer has the agent run a 5 s command: the budget is lowered while it runs, after that call was charged
    stack.model.setScenario({
      script: (r) =>
        systemText(r.body.system).includes(title) && r.body.messages.length === 1
          ? { content: [toolUseBlock('run_command', { command: 'sleep 5' })], stop_reason: 'tool_use' }
          : undefined,
    })
    try {
      const specId = await launchSpec(owner, projectId, title)
      const charged = await waitFor(async () => {
        const s = await spec(specId)
        return s.cost_usd > 0 && s
      }, { what: 'the first call to be charged' })
      expect((await owner.request('PATCH', `/specs/${specId}`, { budget_usd: Math.floor(charged.cost_usd * 10_000) / 10_000 })).status).toBe(200)

      expect((await waitForStatus(owner, specId, ['paused', 'failed', 'completed'])).status).toBe('paused')
      await allEnded(specId)
      const events = await everyEvent(owner, specId)
      expect(events.filter((e) => e.type === 'spec.paused').map((e) => e.data)).toEqual([{ by: 'budget' }])
      expect(events.filter((e) => e.type === 'spec.budget_exceeded')).toHaveLength(1)
      expect(lossesAndFailures(events)).toEqual([])
      expect(events.find((e) => e.type === 'agent.completed')?.data).toMatchObject({ stopped: 'budget_exceeded' })
      expect(await sandboxesOf(sql(), specId)).toHaveLength(1)
      expect((await spec(specId)).status).toBe('paused')
    } finally {
      stack.model.setScenario({ script: undefined })
    }
  }, 120_000)
})

describe('budget_usd precision', () => {
  it('more decimals than the 4 stored (1/100 of a cent) is a 400 naming budget_usd, not a silent rounding', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Precise', description: 'd' })).body.id
    const bad = await owner.request('PATCH', `/specs/${specId}`, { budget_usd: 0.006315 })
    expect(bad.status).toBe(400)
    expect(bad.body.error.fields.budget_usd.join(' ')).toMatch(/4 decimal/)
    const good = await owner.request('PATCH', `/specs/${specId}`, { budget_usd: 0.0063 })
    expect(good.status).toBe(200)
    expect(good.body.budget_usd).toBe(0.0063)
  })
})
