import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { INGEST_AUTH_CACHE_MS } from '../../src/actors/sandbox-api.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Api, asUser } from '../support/api.ts'
import { goodRequirements } from '../support/fixtures.ts'
import { forSpec } from '../support/model-gate.ts'
import { launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { everyEvent, isWorker, killWorker, logProblems, runningSandbox, sandboxesOf, startStack, waitForEvent, workerEnv, type Stack } from '../support/stack.ts'
import { waitFor } from '../support/wait.ts'

/** What goes wrong around a sandbox (CONTRACT §7, §8): a dying worker, an overloaded or refusing model, forged tokens, escapes. */

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

const launch = (title: string, extra: Record<string, unknown> = {}) => launchSpec(owner, projectId, title, extra)

async function finished(specId: string, timeoutMs = 90_000) {
  const spec = await waitForStatus(owner, specId, ['completed', 'failed', 'cancelled'], timeoutMs)
  const events = await everyEvent(owner, specId)
  return { spec, events }
}

describe('a worker that dies', () => {
  it('is replaced by a new sandbox (generation 1) and the phase still completes', async () => {
    const title = 'Worker dies'
    const hold = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration' && r.called.length === 1, 1)
    const specId = await launch(title)
    await hold.first()
    const first = await runningSandbox(sql(), specId, { phase: 'explore' })
    expect(await killWorker(Number(first.external_id))).toBe(true)
    hold.release()

    const replaced = await waitForEvent(owner, specId, (e) => e.type === 'spec.sandbox_replaced', 'spec.sandbox_replaced')
    expect(replaced.data).toMatchObject({ phase: 'explore', attempt: 1, generation: 1 })
    expect(replaced.data.reason).toMatch(/exited/)
    const { spec, events } = await finished(specId)
    expect(spec.status, JSON.stringify(events.filter((e) => /failed|error/.test(e.type)))).toBe('completed')

    const explore = (await sandboxesOf(sql(), specId)).filter((r) => r.phase === 'explore')
    expect(explore.map((r) => [r.attempt, r.generation, r.status])).toEqual([
      [1, 0, 'ended'],
      [1, 1, 'ended'],
    ])
    expect(explore[0]!.id).toBe(first.id)
    const starts = events.filter((e) => e.type === 'spec.phase_started' && e.data.phase === 'explore').map((e) => e.data.sandbox_id)
    expect(starts).toEqual([first.id, explore[1]!.id])
    expect(events.filter((e) => e.type === 'spec.phase_completed' && e.data.phase === 'explore')).toHaveLength(1)
    expect(spec.phases.find((p: { phase: string }) => p.phase === 'explore')).toMatchObject({ status: 'completed', attempts: 1 })
    expect(logProblems(events)).toEqual([])
  }, 150_000)
})

describe('the model API', () => {
  it('answers 529 twice, then normally: the call is retried and the spec proceeds', async () => {
    const title = 'Overloaded model'
    stack.model.setScenario({ overloaded: 2 })
    const before = stack.gate.requests.length
    const specId = await launch(title)
    const { spec, events } = await finished(specId)
    expect(spec.status, JSON.stringify(events.filter((e) => /failed|error/.test(e.type)))).toBe('completed')
    expect(events.filter((e) => e.type === 'agent.error')).toEqual([])
    // the first call was sent three times (two 529s, then the answer), then the conversation went on as usual
    const explore = stack.gate.requests.slice(before).filter((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration')
    expect(explore.map((r) => r.body.messages.length)).toEqual([1, 1, 1, 3, 5, 7])
  }, 150_000)

  it('refuses the API key: the phase fails at once, saying so, without a retry loop', async () => {
    const title = 'Bad key'
    stack.model.setScenario({ rejectKeys: ['test-key'] })
    try {
      const before = stack.gate.requests.length
      const specId = await launch(title)
      const { spec, events } = await finished(specId)
      expect(spec.status).toBe('failed')
      const errors = events.filter((e) => e.type === 'agent.error')
      expect(errors).toHaveLength(1)
      expect(errors[0]!.data.error).toMatch(/API key.*401|401.*API key/i)
      const failed = events.filter((e) => e.type === 'spec.phase_failed')
      expect(failed).toHaveLength(1)
      expect(failed[0]!.data).toMatchObject({ phase: 'explore' })
      expect(failed[0]!.data.error).toMatch(/API key/)
      expect(events.filter((e) => e.type === 'spec.execution_failed')).toHaveLength(1)
      expect(events.filter((e) => e.type === 'spec.sandbox_replaced'), JSON.stringify(events.map((e) => [e.type, e.data]))).toEqual([])
      expect(stack.gate.requests.slice(before).filter(forSpec(title)).length, 'a 401 is not retried').toBeLessThanOrEqual(2)
      expect(await sandboxesOf(sql(), specId)).toHaveLength(1)
    } finally {
      stack.model.setScenario({ rejectKeys: [] })
    }
  }, 150_000)
})

describe('sandbox tokens', () => {
  const endpoints = (id: string) => [
    { method: 'GET', path: `/sandboxes/${id}/assignment`, body: undefined },
    { method: 'POST', path: `/sandboxes/${id}/events`, body: { events: [{ id: randomUUID(), type: 'agent.message', data: { text: 'forged' } }] } },
    {
      method: 'POST',
      path: `/sandboxes/${id}/result`,
      body: { id: randomUUID(), outcome: 'submitted', output: goodRequirements, usage: { input_tokens: 1, output_tokens: 1 } },
    },
    { method: 'GET', path: `/sandboxes/${id}/messages`, body: undefined },
  ]

  /** Calls all four endpoints of sandbox `id` with `token`; answers the statuses and the ids the bodies carried. */
  async function callAll(id: string, token: string | null, only = ['assignment', 'events', 'result', 'messages']) {
    const statuses: number[] = []
    const ids: string[] = []
    for (const e of endpoints(id).filter((x) => only.some((name) => x.path.endsWith(`/${name}`)))) {
      const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` }
      const api = new Api(stack.server.url)
      const res = await api.request(e.method, e.path, e.body, headers)
      statuses.push(res.status)
      if (res.status === 401) expect(res.body.error.code).toBe('unauthenticated')
      const body = e.body as { id?: string; events?: { id: string }[] } | undefined
      if (body?.id) ids.push(body.id)
      for (const ev of body?.events ?? []) ids.push(ev.id)
    }
    return { statuses, ids }
  }

  async function observable(specId: string) {
    const [spec] = await sql()<{ last_seq: number; status: string; phases: unknown; cost_usd: number }[]>`
      select last_seq, status, phases, cost_usd from specs where id = ${specId}`
    const [actor] = await sql()<{ version: number }[]>`select version from spec_actors where spec_id = ${specId}`
    const [results] = await sql()<{ n: number }[]>`select count(*)::int8 as n from phase_results where spec_id = ${specId}`
    return { spec, version: actor!.version, results: results!.n }
  }

  it('a wrong, another sandbox’s or a stale token gets 401 on all four endpoints and changes nothing', async () => {
    const title = 'Tokens'
    const holdExplore = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration' && r.called.length === 1, 1)
    const holdRequirements = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_requirements' && r.called.length === 1, 1)
    const specId = await launch(title)
    await holdExplore.first()
    const explore = await runningSandbox(sql(), specId, { phase: 'explore' })
    const exploreToken = await stack.tap!.tokenOf(explore.id)
    expect(exploreToken).toBeTruthy()
    // the captured token is the real one: it works while its sandbox lives
    const asSandbox = (token: string) => ({ authorization: `Bearer ${token}` })
    const ok = await owner.request('GET', `/sandboxes/${explore.id}/assignment`, undefined, asSandbox(exploreToken))
    expect(ok.status).toBe(200)
    expect(ok.body).toMatchObject({ kind: 'phase', phase: 'explore', sandbox_id: explore.id })

    holdExplore.release()
    await holdRequirements.first()
    const requirements = await runningSandbox(sql(), specId, { phase: 'requirements' })
    const requirementsToken = await stack.tap!.tokenOf(requirements.id)
    await waitFor(async () => (await sandboxesOf(sql(), specId)).find((r) => r.id === explore.id)?.status === 'ended', {
      timeoutMs: 60_000,
      what: 'the explore sandbox to end',
    })
    await waitForEvent(owner, specId, (e) => e.type === 'agent.tool_result' && e.sandbox_id === requirements.id, 'requirements to settle')
    const before = await observable(specId)

    const forged: string[] = []
    const expect401 = async (id: string, token: string | null, what: string) => {
      const { statuses, ids } = await callAll(id, token)
      expect(statuses, what).toEqual([401, 401, 401, 401])
      forged.push(...ids)
    }
    await expect401(requirements.id, null, 'no token')
    await expect401(requirements.id, 'not-a-token', 'a wrong token')
    await expect401(requirements.id, exploreToken, 'another sandbox’s token')
    await expect401(explore.id, requirementsToken, 'another sandbox’s token')
    // at once after its end, the token no longer fetches work, posts results or reads messages
    const right = await callAll(explore.id, exploreToken, ['assignment', 'result', 'messages'])
    expect(right.statuses, 'a just-ended sandbox').toEqual([401, 401, 401])
    forged.push(...right.ids)
    // (its worker's last events are still taken for a short grace, src/actors/sandbox-api.ts EVENTS_GRACE_MS; after
    // that the token is dead on every endpoint)
    await sql()`update sandboxes set ended_at = now() - interval '1 minute' where id = ${explore.id}`
    // the minute is simulated in the row; the server's brief memory of a token it checked a moment ago lapses for real
    await sleep(INGEST_AUTH_CACHE_MS + 100)
    await expect401(explore.id, exploreToken, 'a stale token (its sandbox has ended)')

    expect(await observable(specId)).toEqual(before)
    const [stored] = await sql()<{ n: number }[]>`
      select (select count(*) from sandbox_events where id::text in ${sql()(forged)}) + (select count(*) from phase_results where id::text in ${sql()(forged)}) as n`
    expect(Number(stored!.n)).toBe(0)
    expect(await isWorker(Number(requirements.external_id)), 'the live worker is unaffected').toBe(true)

    holdRequirements.release()
    expect((await owner.post(`/specs/${specId}/cancel`)).body.status).toBe('cancelled')
    expect(logProblems(await everyEvent(owner, specId))).toEqual([])
  }, 150_000)
})

describe('tools stay inside the workspace', () => {
  it('a read_file or list_files outside the workspace is refused and nothing of the file reaches the model or the log', async () => {
    const title = 'Escape attempt'
    // the model (through the gate) asks for /etc and ../../../../etc/passwd instead of what the fake would ask
    stack.gate.rewrite((answer, request) => {
      if (!forSpec(title)(request)) return answer
      for (const block of answer.content) {
        if (block.type === 'tool_use' && block.name === 'list_files') block.input = { path: '/etc' }
        if (block.type === 'tool_use' && block.name === 'read_file') block.input = { path: '../../../../etc/passwd' }
      }
      return answer
    })
    try {
      const specId = await launch(title)
      await waitForEvent(owner, specId, (e) => e.type === 'spec.phase_completed' && e.data.phase === 'explore', 'explore to complete')
      expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
      const events = await everyEvent(owner, specId)
      const results = events.filter((e) => e.type === 'agent.tool_result' && ['list_files', 'read_file'].includes(e.data.tool))
      expect(results.map((e) => [e.data.tool, e.data.ok])).toEqual([
        ['list_files', false],
        ['read_file', false],
      ])
      for (const e of results) expect(e.data.summary).toMatch(/escapes the workspace/)
      const later = stack.gate.requests.filter((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration' && r.called.length >= 2)
      const toolResults = later[0]!.body.messages.flatMap((t) => (typeof t.content === 'string' ? [] : t.content)).filter((b) => b.type === 'tool_result')
      expect(toolResults.map((b) => b.is_error)).toEqual([true, true])
      expect(JSON.stringify(later)).not.toContain('root:x:0:0')
      expect(JSON.stringify(events)).not.toContain('root:x:0:0')
    } finally {
      stack.gate.rewrite(null)
    }
  }, 150_000)

  it('the model API key never enters a sandbox: not in the worker’s environment, nor anything a command prints', async () => {
    const title = 'Secret peek'
    // the first run_command of the task becomes a look at the worker's own environment
    stack.gate.rewrite((answer, request) => {
      if (!forSpec(title)(request)) return answer
      for (const block of answer.content) {
        if (block.type === 'tool_use' && block.name === 'run_command') block.input = { command: "tr '\\0' '\\n' < /proc/$PPID/environ" }
      }
      return answer
    })
    try {
      const hold = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'complete_task', 1)
      const res = await owner.post('/tickets', { project_id: projectId, title, description: 'print the environment' })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      const specId: string = res.body.spec_id
      await hold.first()
      const task = await runningSandbox(sql(), specId, { task: 'TSK-001' })
      const env = await workerEnv(Number(task.external_id))
      // the worker reaches the model through the server's proxy, with its own sandbox token as the key
      expect(env.ANTHROPIC_API_KEY).toBeUndefined()
      // nor its own token: that is handed over on a file descriptor, read once
      expect(env.OMOI_SANDBOX_TOKEN).toBeUndefined()
      expect(env.ANTHROPIC_BASE_URL).toContain(`/sandboxes/${task.id}/model`)
      hold.release()
      const { events } = await finished(specId)
      const ran = events.find((e) => e.type === 'agent.tool_result' && e.data.tool === 'run_command')
      expect(ran, 'the command ran').toBeTruthy()
      const seen = JSON.stringify(stack.gate.requests.filter(forSpec(title))) + JSON.stringify(events)
      expect(seen, 'the server key reached the model or the log').not.toContain(stack.env.ANTHROPIC_API_KEY)
      // what a command can see is the sandbox's own token, which dies with the sandbox
      const assignment = await fetch(`${stack.server.url}/api/v1/sandboxes/${task.id}/assignment`, {
        headers: { authorization: `Bearer ${await stack.tap!.tokenOf(task.id)}` },
      })
      expect(assignment.status).toBe(401)
    } finally {
      stack.gate.rewrite(null)
    }
  }, 150_000)
})
