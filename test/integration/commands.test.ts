import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, projectCast, type Api } from '../support/api.ts'
import { startGitGate } from '../support/git-gate.ts'
import { forSpec } from '../support/model-gate.ts'
import { launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { startTestServer } from '../support/server.ts'
import { everyEvent, logProblems, runningSandbox, sandboxesOf, startStack, waitForEvent, type Stack } from '../support/stack.ts'
import { waitFor } from '../support/wait.ts'

/** Steering a spec over REST (CONTRACT §4): approve, revise, pause, resume, cancel, execute, budget, messages, who may. */

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

const sql = () => stack.database.sql

const launch = (title: string, extra: Record<string, unknown> = {}) => launchSpec(owner, projectId, title, extra)

const allEnded = (specId: string) =>
  waitFor(async () => {
    const rows = await sandboxesOf(sql(), specId)
    return rows.length > 0 && rows.every((r) => r.status === 'ended')
  }, { timeoutMs: 60_000, what: 'every sandbox of the spec to be ended' })

describe('manual approval', () => {
  it('waits after requirements, refuses the wrong phase, continues on approval, re-runs design on revise, cancels', async () => {
    const title = 'Manual approval'
    const specId = await launch(title, { approval: 'manual' })
    let spec = await waitForStatus(owner, specId, ['awaiting_approval', 'failed'], 90_000)
    expect(spec).toMatchObject({ status: 'awaiting_approval', current_phase: 'requirements' })

    const wrong = await owner.post(`/specs/${specId}/approve`, { phase: 'design' })
    expect(wrong.status).toBe(409)
    expect(wrong.body.error.code).toBe('conflict')
    expect(wrong.body.error.message).toMatch(/awaiting_approval/)
    expect(wrong.body.error.message).toMatch(/requirements/)

    const approved = await owner.post(`/specs/${specId}/approve`, { phase: 'requirements' })
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)
    expect(approved.body.status).toBe('executing')
    spec = await waitForStatus(owner, specId, ['awaiting_approval', 'failed'], 90_000)
    expect(spec).toMatchObject({ status: 'awaiting_approval', current_phase: 'design' })

    const feedback = 'Name the background job reminder-worker and keep every time in UTC.'
    const designCallsBefore = stack.gate.requests.filter((r) => forSpec(title)(r) && r.submitTool === 'submit_design').length
    expect(designCallsBefore).toBeGreaterThan(0)
    const revised = await owner.post(`/specs/${specId}/revise`, { phase: 'design', feedback })
    expect(revised.status, JSON.stringify(revised.body)).toBe(200)
    expect(revised.body.status).toBe('executing')
    spec = await waitForStatus(owner, specId, ['awaiting_approval', 'failed'], 90_000)
    expect(spec).toMatchObject({ status: 'awaiting_approval', current_phase: 'design' })
    expect(spec.phases.find((p: { phase: string }) => p.phase === 'design')).toMatchObject({ status: 'awaiting_approval', attempts: 2 })

    const design = stack.gate.requests.filter((r) => forSpec(title)(r) && r.submitTool === 'submit_design')
    expect(design.slice(0, designCallsBefore).some((r) => JSON.stringify(r.body).includes(feedback))).toBe(false)
    expect(design[designCallsBefore]!.body.system, 'the re-run design agent is told the feedback').toContain(feedback)

    const events = await everyEvent(owner, specId)
    expect(events.filter((e) => e.type === 'spec.awaiting_approval').map((e) => e.data.phase)).toEqual(['requirements', 'design', 'design'])
    expect(events.filter((e) => e.type === 'spec.approved').map((e) => e.data)).toEqual([{ phase: 'requirements', by: owner.user!.id }])
    expect(events.filter((e) => e.type === 'spec.revision_requested').map((e) => e.data)).toEqual([{ phase: 'design', by: owner.user!.id, feedback }])
    expect(events.filter((e) => e.type === 'spec.phase_started' && e.data.phase === 'design').map((e) => e.data.attempt)).toEqual([1, 2])
    expect((await owner.post(`/specs/${specId}/revise`, { phase: 'requirements', feedback: 'too late' })).status).toBe(409)

    // approve design; cancel while the tasks phase runs: cancelled, and no sandbox left alive
    const hold = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_tasks', 1)
    expect((await owner.post(`/specs/${specId}/approve`, { phase: 'design' })).status).toBe(200)
    await hold.first()
    await runningSandbox(sql(), specId, { phase: 'tasks' })
    const cancelled = await owner.post(`/specs/${specId}/cancel`)
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200)
    expect(cancelled.body.status).toBe('cancelled')
    hold.release()
    await allEnded(specId)
    expect((await owner.get(`/specs/${specId}`)).body.status).toBe('cancelled')
    for (const command of ['pause', 'resume', 'cancel', 'retry']) {
      const res = await owner.post(`/specs/${specId}/${command}`)
      expect(res.status, command).toBe(409)
    }
    expect((await owner.post(`/specs/${specId}/messages`, { text: 'anyone there?' })).status).toBe(409)
    const after = await everyEvent(owner, specId)
    expect(after.filter((e) => e.type === 'spec.cancelled').map((e) => e.data)).toEqual([{ by: owner.user!.id }])
    expect(logProblems(after)).toEqual([])
  }, 150_000)
})

describe('pause and resume', () => {
  it('pauses a running phase (its sandbox ends), refuses a second pause, resumes the same phase and completes', async () => {
    const title = 'Pause me'
    const hold = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration' && r.called.length === 1, 1)
    const specId = await launch(title)
    await hold.first()
    const first = await runningSandbox(sql(), specId, { phase: 'explore' })

    const again = await owner.post(`/specs/${specId}/execute`)
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject({ spec_id: specId, status: 'already_running', current_phase: 'explore', sandbox_id: first.id })

    const paused = await owner.post(`/specs/${specId}/pause`)
    expect(paused.status, JSON.stringify(paused.body)).toBe(200)
    expect(paused.body).toMatchObject({ status: 'paused', current_phase: 'explore' })
    await waitFor(async () => (await sandboxesOf(sql(), specId)).find((r) => r.id === first.id)!.status === 'ended', {
      timeoutMs: 60_000,
      what: 'the paused phase’s sandbox to end',
    })
    const twice = await owner.post(`/specs/${specId}/pause`)
    expect(twice.status).toBe(409)
    expect(twice.body.error.message).toMatch(/paused/)
    hold.release()

    const resumed = await owner.post(`/specs/${specId}/resume`)
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200)
    expect(resumed.body).toMatchObject({ status: 'executing', current_phase: 'explore' })
    const spec = await waitForStatus(owner, specId, ['completed', 'failed', 'cancelled'], 90_000)
    const events = await everyEvent(owner, specId)
    expect(spec.status, JSON.stringify(events.filter((e) => /failed|error/.test(e.type)))).toBe('completed')
    const explore = (await sandboxesOf(sql(), specId)).filter((r) => r.phase === 'explore')
    expect(explore).toHaveLength(2)
    expect(explore[0]!.id).toBe(first.id)
    const types = events.map((e) => e.type)
    expect(types.indexOf('spec.paused')).toBeLessThan(types.indexOf('spec.resumed'))
    expect(events.filter((e) => e.type === 'spec.phase_started' && e.data.phase === 'explore').map((e) => e.data.sandbox_id)).toEqual(explore.map((r) => r.id))
    expect(events.filter((e) => e.type === 'spec.phase_completed').map((e) => e.data.phase)).toEqual(['explore', 'requirements', 'design', 'tasks'])
    expect(logProblems(events)).toEqual([])
  }, 150_000)
})

describe('pause and resume at once', () => {
  it('while the next phase’s sandbox is still starting: the resumed phase gets a sandbox that lives and completes', async () => {
    const title = 'Pause at start'
    const remote = await startGitGate(await makeRepo())
    try {
      const project = (await owner.post('/projects', { name: 'Remote', repo_url: remote.url })).body
      // explore's sandbox clones at once; the requirements sandbox's clone waits, so it is `starting` when we pause
      const clone = remote.holdClone(1)
      stack.model.setScenario({ delayMs: 300 })
      const specId = (await owner.post('/specs/launch', { project_id: project.id, title, description: 'pause it early' })).body.spec_id
      await clone.first()
      const starting = await waitFor(async () =>
        (await sandboxesOf(sql(), specId)).find((r) => r.phase === 'requirements' && r.status === 'starting'),
      )
      expect((await owner.post(`/specs/${specId}/pause`)).body.status).toBe('paused')
      expect((await owner.post(`/specs/${specId}/resume`)).body).toMatchObject({ status: 'executing', current_phase: 'requirements' })
      clone.release()

      const completed = await waitFor(
        async () => (await everyEvent(owner, specId)).find((e) => e.type === 'spec.phase_completed' && e.data.phase === 'requirements'),
        { timeoutMs: 20_000, what: 'the resumed requirements phase to complete' },
      ).catch(async (err: Error) => {
        const rows = (await sandboxesOf(sql(), specId)).filter((r) => r.phase === 'requirements')
        const spec = (await owner.get(`/specs/${specId}`)).body
        throw new Error(
          `${err.message}\nspec: ${spec.status} / ${spec.current_phase}\nrequirements sandboxes:\n` +
            rows.map((r) => `  ${r.id} attempt ${r.attempt} gen ${r.generation} ${r.status} (${r.end_reason})`).join('\n'),
        )
      })
      expect(completed).toBeTruthy()
      const rows = (await sandboxesOf(sql(), specId)).filter((r) => r.phase === 'requirements')
      expect(rows[0]!.id).toBe(starting.id)
      expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
    } finally {
      stack.model.setScenario({ delayMs: 0 })
      await remote.close()
    }
  }, 150_000)
})

describe('execute', () => {
  it('starts a draft (202), answers already_running (200) while it runs, 400 without a project, 409 once cancelled', async () => {
    const draft = (await owner.post('/specs', { project_id: projectId, title: 'Draft first', description: 'run later' })).body
    expect(draft.status).toBe('draft')
    const hold = stack.gate.hold((r) => forSpec('Draft first')(r), 1)
    const started = await owner.post(`/specs/${draft.id}/execute`)
    expect(started.status, JSON.stringify(started.body)).toBe(202)
    expect(started.body).toMatchObject({ spec_id: draft.id, status: 'started', current_phase: 'explore' })
    expect(started.body.sandbox_id).toMatch(/^sbx_/)
    const running = await owner.post(`/specs/${draft.id}/execute`)
    expect(running.status).toBe(200)
    expect(running.body.status).toBe('already_running')
    expect((await owner.post(`/specs/${draft.id}/cancel`)).body.status).toBe('cancelled')
    hold.release()
    expect((await owner.post(`/specs/${draft.id}/execute`)).status).toBe(409)
    await allEnded(draft.id)

    const loose = (await owner.post('/specs', { title: 'No project', description: 'nowhere to run' })).body
    expect(loose.project_id).toBeNull()
    const res = await owner.post(`/specs/${loose.id}/execute`)
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('invalid_body')
    expect((await owner.get(`/specs/${loose.id}`)).body.status).toBe('draft')
  }, 150_000)
})

describe('budget', () => {
  it('a spec over its budget pauses with spec.budget_exceeded, and resume answers 402', async () => {
    const specId = await launch('Tiny budget', { budget_usd: 0.0001 })
    const spec = await waitForStatus(owner, specId, ['paused', 'completed', 'failed'], 90_000)
    expect(spec.status).toBe('paused')
    expect(spec.cost_usd).toBeGreaterThan(0.0001)
    const events = await everyEvent(owner, specId)
    const exceeded = events.filter((e) => e.type === 'spec.budget_exceeded')
    expect(exceeded).toHaveLength(1)
    expect(exceeded[0]!.data.budget_usd).toBe(0.0001)
    expect(exceeded[0]!.data.cost_usd).toBeGreaterThan(0.0001)
    expect(events.find((e) => e.type === 'spec.paused')!.data).toEqual({ by: 'budget' })
    await allEnded(specId)

    const resume = await owner.post(`/specs/${specId}/resume`)
    expect(resume.status).toBe(402)
    expect(resume.body.error.code).toBe('budget_exceeded')
    expect((await owner.get(`/specs/${specId}`)).body.status).toBe('paused')
  }, 150_000)
})

describe('who may steer', () => {
  it('a viewer gets 403 for every command (and may still read); an outsider gets 404', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Guarded', description: 'hands off' })).body.id
    expect((await viewer.get(`/specs/${specId}`)).status).toBe(200)
    const commands: [string, unknown][] = [
      ['execute', {}],
      ['approve', { phase: 'requirements' }],
      ['revise', { phase: 'design', feedback: 'x' }],
      ['pause', {}],
      ['resume', {}],
      ['cancel', {}],
      ['retry', {}],
      ['messages', { text: 'hi' }],
    ]
    for (const [command, body] of commands) {
      const asViewer = await viewer.post(`/specs/${specId}/${command}`, body)
      expect(asViewer.status, `viewer ${command}`).toBe(403)
      expect(asViewer.body.error.code).toBe('forbidden')
      const asOutsider = await outsider.post(`/specs/${specId}/${command}`, body)
      expect(asOutsider.status, `outsider ${command}`).toBe(404)
      expect(asOutsider.body.error.code).toBe('not_found')
    }
    const spec = (await owner.get(`/specs/${specId}`)).body
    expect(spec.status).toBe('draft')
    expect(spec.last_seq).toBe(0)
  })
})

describe('messages to the agent', () => {
  it('a message sent while a phase runs reaches its agent: agent.message_injected, and the next model call carries it', async () => {
    const title = 'Message me'
    const text = 'Please also look at the pricing module — it handles due dates too.'
    const hold = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration' && r.called.length === 1, 1)
    const specId = await launch(title)
    await hold.first()
    const sandbox = await runningSandbox(sql(), specId, { phase: 'explore' })
    await waitForEvent(owner, specId, (e) => e.type === 'agent.tool_result' && e.sandbox_id === sandbox.id, 'the first tool result')

    const sent = await owner.post(`/specs/${specId}/messages`, { text })
    expect(sent.status, JSON.stringify(sent.body)).toBe(201)
    const stored = await waitForEvent(owner, specId, (e) => e.type === 'user.message', 'the user message in the log')
    expect(stored).toMatchObject({ source: 'user', data: { text } })
    // the worker polls for messages (every few seconds): wait until it has asked since the message was stored
    await waitFor(
      async () => {
        const [row] = await sql()<{ polled: boolean }[]>`
          select last_heartbeat_at > ${new Date(stored.created_at)} as polled from sandboxes where id = ${sandbox.id}`
        return row!.polled
      },
      { timeoutMs: 60_000, what: 'the worker to poll its messages' },
    )
    hold.release()

    const injected = await waitForEvent(owner, specId, (e) => e.type === 'agent.message_injected', 'agent.message_injected')
    expect(injected).toMatchObject({ sandbox_id: sandbox.id, source: 'agent', data: { text } })
    const next = stack.gate.requests.find((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration' && r.called.length === 2)!
    expect(JSON.stringify(next.body.messages.at(-1))).toContain(JSON.stringify(text).slice(1, -1))
    expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
  }, 150_000)

  it('a message sent while the agent makes its last call is not lost: the agent of the next phase gets it', async () => {
    const title = 'Late message'
    const text = 'One more thing: reminders must be opt-in.'
    // explore's last model call (the one answered with the accepted submission) waits while the message is sent
    const hold = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration' && r.called.length === 3, 1)
    const specId = await launch(title)
    await hold.first()
    expect((await owner.post(`/specs/${specId}/messages`, { text })).status).toBe(201)
    hold.release()
    await waitForEvent(owner, specId, (e) => e.type === 'spec.phase_completed' && e.data.phase === 'requirements', 'requirements to complete')
    const events = await everyEvent(owner, specId)
    await owner.post(`/specs/${specId}/cancel`)
    const injected = events.filter((e) => e.type === 'agent.message_injected')
    expect(injected.map((e) => e.data.text), 'the message reached no agent').toEqual([text])
    const seenByModel = stack.gate.requests.filter(forSpec(title)).some((r) => JSON.stringify(r.body.messages).includes(text))
    expect(seenByModel).toBe(true)
  }, 150_000)
})

describe('without a model configured', () => {
  it('launching, executing and quick tickets answer 503 model_not_configured; drafts still work', async () => {
    const bare = await startTestServer()
    try {
      const user = await asUser(bare.url, 'Nomodel')
      const project = (await user.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
      const body = { project_id: project.id, title: 'No model', description: 'nothing to run it with' }
      const launched = await user.post('/specs/launch', body)
      expect(launched.status).toBe(503)
      expect(launched.body.error.code).toBe('model_not_configured')
      expect(launched.body.error.message).toMatch(/ANTHROPIC_API_KEY/)
      const quick = await user.post('/tickets', body)
      expect(quick.status).toBe(503)
      expect(quick.body.error.code).toBe('model_not_configured')

      const created = await user.post('/specs/launch', { ...body, auto_execute: false })
      expect(created.status).toBe(201)
      expect(created.body).toMatchObject({ status: 'created', sandbox_id: null })
      const executed = await user.post(`/specs/${created.body.spec_id}/execute`)
      expect(executed.status).toBe(503)
      expect(executed.body.error.code).toBe('model_not_configured')
      expect((await user.get(`/specs/${created.body.spec_id}`)).body.status).toBe('draft')
      const [n] = await bare.database.sql<{ n: number }[]>`select count(*)::int8 as n from sandboxes`
      expect(n!.n).toBe(0)
    } finally {
      await bare.stop()
    }
  }, 150_000)
})
