import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import { goodExploration } from '../support/fixtures.ts'
import { forSpec } from '../support/model-gate.ts'
import { launchSpec } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { everyEvent, logProblems, runningSandbox, startStack, waitForEvent, type Stack } from '../support/stack.ts'

/** Agents produce arbitrary bytes: none may become a 500, a dropped batch or a spec stuck in memory (issue 11, cases 1–3). */

const dirtySummary = `${goodExploration.summary} Found by find -print0: a.txt\u0000b.txt\u0000 and a cut emoji \ud83d.`

let stack: Stack
let owner: Api
let projectId: string

beforeAll(async () => {
  stack = await startStack({ outputs: { submit_exploration: { ...goodExploration, summary: dirtySummary } }, skipBadSubmit: true }, {}, { tap: true })
  owner = await asUser(stack.server.url, 'Owner')
  projectId = (await owner.post('/projects', { name: 'Bytes', repo_url: await makeRepo() })).body.id
})
afterAll(() => stack?.stop())

describe('bytes PostgreSQL refuses', () => {
  it('are stored as ␀ and U+FFFD: agent events are accepted and a submitted output moves the spec on', async () => {
    const title = 'Dirty bytes'
    const hold = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration', 1)
    const specId = await launchSpec(owner, projectId, title)
    await hold.first()
    const sandbox = await runningSandbox(stack.database.sql, specId, { phase: 'explore' })
    const token = await stack.tap!.tokenOf(sandbox.id)
    const res = await fetch(`${stack.server.url}/api/v1/sandboxes/${sandbox.id}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [
          { id: randomUUID(), type: 'agent.tool_result', data: { tool: 'run_command', ok: true, summary: 'git ls-files -z: a\u0000b\u0000' } },
          { id: randomUUID(), type: 'agent.message', data: { text: `half an emoji: \ud83d`, ['key\u0000']: 1 } },
        ],
      }),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ accepted: 2, duplicates: 0 })
    // a message cursor no bigint holds is the worker's mistake to fix, not a 500
    const poll = await fetch(`${stack.server.url}/api/v1/sandboxes/${sandbox.id}/messages?after=99999999999999999999`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(poll.status).toBe(400)
    expect(Object.keys(((await poll.json()) as { error: { fields: object } }).error.fields)).toEqual(['after'])
    hold.release()

    await waitForEvent(owner, specId, (e) => e.type === 'spec.phase_started' && e.data.phase === 'requirements', 'the requirements phase')
    const spec = (await owner.get(`/specs/${specId}`)).body
    expect(spec.current_phase).toBe('requirements')
    expect(spec.phases.find((p: { phase: string }) => p.phase === 'explore').status).toBe('completed')
    const artifacts = (await owner.get(`/specs/${specId}/artifacts`)).body
    expect(artifacts.exploration.summary).toBe(dirtySummary.replaceAll('\u0000', '␀').replace('\ud83d', '\ufffd'))

    const events = await everyEvent(owner, specId)
    expect(events.find((e) => e.type === 'agent.tool_result' && e.data.summary?.startsWith('git ls-files'))?.data.summary).toBe(
      'git ls-files -z: a␀b␀',
    )
    expect(events.find((e) => e.type === 'agent.message' && e.data['key␀'] === 1)?.data.text).toBe('half an emoji: \ufffd')
    expect(logProblems(events)).toEqual([])
    expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
  }, 120_000)
})
