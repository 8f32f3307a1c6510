import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MODELS } from '../../src/actors/models.ts'
import { priceUsage } from '../../src/actors/pricing.ts'
import { asUser, type Api } from '../support/api.ts'
import { forSpec } from '../support/model-gate.ts'
import { launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { everyEvent, isWorker, runningSandbox, startStack, type Stack } from '../support/stack.ts'
import { waitFor } from '../support/wait.ts'

/** The server's model proxy (issue 10 case 6): streamed calls priced, budget checked first, calls of ended sandboxes dropped. */

let stack: Stack
let owner: Api
let projectId: string

beforeAll(async () => {
  stack = await startStack({}, { OMOI_MODEL_TIMEOUT_MS: '6000' }, { tap: true })
  owner = await asUser(stack.server.url, 'Owner')
  projectId = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body.id
})
afterAll(() => stack?.stop())

const sql = () => stack.database.sql
const TOOLS = [{ name: 'submit_exploration', description: 'submit', input_schema: { type: 'object' as const } }]

/** A spec whose explore agent is parked in its first model call; answers the sandbox's own client of the proxy. */
async function parkedSpec(title: string) {
  const hold = stack.gate.hold((r) => forSpec(title)(r), 1)
  const specId = await launchSpec(owner, projectId, title)
  await hold.first()
  const sandbox = await runningSandbox(sql(), specId, { phase: 'explore' })
  const token = await stack.tap!.tokenOf(sandbox.id)
  const client = new Anthropic({ apiKey: token, baseURL: `${stack.server.url}/api/v1/sandboxes/${sandbox.id}/model`, maxRetries: 0 })
  return { specId, sandbox, client, hold }
}

const spec = async (id: string) => (await owner.get(`/specs/${id}`)).body

describe('the model proxy', () => {
  it('prices a streamed answer like any other, cache tokens included', async () => {
    const { specId, client, hold } = await parkedSpec('Streamed pricing')
    const before = await spec(specId)
    const stream = client.messages.stream({
      model: 'claude-sonnet-5-5',
      max_tokens: 20_000,
      system: [{ type: 'text', text: 'A streamed call that reads its sandbox token. '.repeat(40), cache_control: { type: 'ephemeral' } }],
      tools: TOOLS,
      messages: [{ role: 'user', content: 'go' }],
    })
    const message = await stream.finalMessage()
    expect(message.usage.cache_creation_input_tokens).toBeGreaterThan(0)
    const expected = priceUsage(MODELS['claude-sonnet-5-5'], message.usage)
    const after = await waitFor(async () => {
      const s = await spec(specId)
      return s.cost_usd > before.cost_usd && s
    }, { what: 'the streamed call to be priced' })
    expect(after.cost_usd - before.cost_usd).toBeCloseTo(expected, 6)
    expect(after.tokens.cache_write - before.tokens.cache_write).toBe(message.usage.cache_creation_input_tokens)
    hold.release()
    await owner.post(`/specs/${specId}/cancel`, {})
  })

  it('refuses a call with 402 before forwarding it once the budget is spent', async () => {
    const { specId, client, hold } = await parkedSpec('Budget spent')
    await sql()`update specs set budget_usd = 0.01, cost_usd = 0.02 where id = ${specId}`
    const seen = stack.model.requests.length
    const refused = await client.messages.create({ model: 'm', max_tokens: 10, tools: TOOLS, messages: [{ role: 'user', content: 'go' }] }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(Anthropic.APIError)
    expect((refused as InstanceType<typeof Anthropic.APIError>).status).toBe(402)
    expect(((refused as InstanceType<typeof Anthropic.APIError>).error as { error: { code: string } }).error.code).toBe('budget_exceeded')
    expect(stack.model.requests.length).toBe(seen)
    hold.release()
    await owner.post(`/specs/${specId}/cancel`, {})
  })

  it('drops the upstream call when its sandbox ends, and charges nothing after a cancel', async () => {
    const { specId, sandbox, client, hold } = await parkedSpec('Cancelled in flight')
    stack.model.setScenario({ hang: (r) => r.body.messages[0]?.content === 'x' })
    const started = Date.now()
    const inFlight = client.messages.create({ model: 'm', max_tokens: 10, tools: TOOLS, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e)
    await waitFor(() => stack.gate.requests.some((r) => r.body.messages[0]?.content === 'x' && r.n > 0), { what: 'the call to reach the model' })
    expect((await owner.post(`/specs/${specId}/cancel`, {})).status).toBe(200)
    await waitForStatus(owner, specId, ['cancelled'])
    const answer = await inFlight
    expect(answer, 'the call is cut off, not answered').toBeInstanceOf(Anthropic.APIError)
    expect(Date.now() - started, 'cut off by the sandbox ending, well before the 6 s timeout').toBeLessThan(5_000)
    stack.model.setScenario({ hang: undefined })
    hold.release()
    await waitFor(async () => (await sql()`select status from sandboxes where id = ${sandbox.id}`)[0]?.status === 'ended', { what: 'the sandbox to end' })
    expect((await spec(specId)).cost_usd).toBe(0)
  })

  it('ends an upstream call that outlasts OMOI_MODEL_TIMEOUT_MS', async () => {
    const { specId, client, hold } = await parkedSpec('Timed out')
    stack.model.setScenario({ hang: (r) => r.body.messages[0]?.content === 'hang' })
    const started = Date.now()
    const answer = await client.messages.create({ model: 'm', max_tokens: 10, tools: TOOLS, messages: [{ role: 'user', content: 'hang' }] }).catch((e: unknown) => e)
    expect((answer as InstanceType<typeof Anthropic.APIError>).status).toBe(503)
    expect(Date.now() - started).toBeGreaterThanOrEqual(6_000)
    expect(Date.now() - started).toBeLessThan(15_000)
    stack.model.setScenario({ hang: undefined })
    hold.release()
    await owner.post(`/specs/${specId}/cancel`, {})
  })

  it('pausing a spec while its agent waits for the model reports no API key error (issue 14 case 3)', async () => {
    const { specId, sandbox, hold } = await parkedSpec('Paused mid-call')
    expect((await owner.post(`/specs/${specId}/pause`, {})).status).toBe(200)
    await waitFor(async () => (await sql()`select status from sandboxes where id = ${sandbox.id}`)[0]?.status === 'ended', { what: 'the sandbox to end' })
    hold.release()
    await waitFor(async () => !(await isWorker(Number(sandbox.external_id))), { what: 'the worker to stop', timeoutMs: 30_000 })
    const events = await everyEvent(owner, specId)
    expect(events.filter((e) => e.type === 'agent.error')).toEqual([])
    expect((await spec(specId)).status).toBe('paused')
    await owner.post(`/specs/${specId}/cancel`, {})
  })

  it('a pause cuts the model call in flight: nothing charged for it, and the agent runs no further tool', async () => {
    const title = 'Paused after a tool'
    // the agent's second call, made after its first tool ran, is parked: the pause lands while it is in flight
    const hold = stack.gate.hold((r) => forSpec(title)(r) && r.called.length >= 1, 1)
    const specId = await launchSpec(owner, projectId, title)
    const parked = await hold.first()
    const sandbox = await runningSandbox(sql(), specId, { phase: 'explore' })
    const charged = (await spec(specId)).tokens
    expect((await owner.post(`/specs/${specId}/pause`, {})).status).toBe(200)
    // the model answers at once after the pause (well inside any liveness poll)
    hold.release()
    await waitFor(async () => !(await isWorker(Number(sandbox.external_id))), { what: 'the worker to stop', timeoutMs: 30_000 })
    // what the agent did before the pause may arrive after spec.paused (its last words); the parked call's answer
    // must never reach it: no tool beyond those it had called, and no usage of that call
    const events = (await everyEvent(owner, specId)).filter((e) => e.sandbox_id === sandbox.id)
    expect(events.filter((e) => e.type === 'agent.tool_use'), 'tools the agent ran').toHaveLength(parked.called.length)
    const answered = parked.body.messages.filter((m) => m.role === 'assistant').length
    expect(events.filter((e) => e.type === 'agent.usage'), 'model answers the agent got').toHaveLength(answered)
    expect((await spec(specId)).tokens, 'the call cut off by the pause is not charged').toEqual(charged)
    await owner.post(`/specs/${specId}/cancel`, {})
  })
})
