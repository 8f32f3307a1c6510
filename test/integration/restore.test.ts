import { readdir } from 'node:fs/promises'
import { conversationSteps } from '../support/model-gate.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callbackDir } from '../../src/sandbox/callback-socket.ts'
import { asUser, type Api } from '../support/api.ts'
import { waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { everyEvent, isWorker, logProblems, runningSandbox, sandboxesOf, startStack, type Stack } from '../support/stack.ts'

/**
 * Restart = restore (DESIGN §3): a server stopped gracefully in the middle of a phase, and a new one on the same database
 * and data directory, carry on as if nothing happened: the same state, attempts and deadlines, the same worker.
 */

let stack: Stack
let owner: Api
let projectId: string

beforeAll(async () => {
  stack = await startStack({}, { OMOI_NODE_ID: 'node-a' })
  owner = await asUser(stack.server.url, 'Owner')
  projectId = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body.id
})
afterAll(() => stack?.stop())

interface ActorRow {
  snapshot: { value: unknown; context: Record<string, any> }
  version: number
  state: string
  owner_node: string
}
const actorRow = async (specId: string) =>
  (await stack.database.sql<ActorRow[]>`select snapshot, version, state, owner_node from spec_actors where spec_id = ${specId}`)[0]!

describe('a server stopped mid-phase and started again', () => {
  it('restores the actor as it was, re-attaches the running worker, and completes the spec', async () => {
    // the explore worker's second model call (after list_files) waits until we say so: the phase is surely mid-way
    const hold = stack.gate.hold((r) => r.submitTool === 'submit_exploration' && r.called.length === 1, 1)
    const launch = await owner.post('/specs/launch', { project_id: projectId, title: 'Due dates', description: 'add due dates to todos' })
    expect(launch.status).toBe(201)
    const specId: string = launch.body.spec_id
    await hold.first()
    const sandbox = await runningSandbox(stack.database.sql, specId, { phase: 'explore' })
    const pid = Number(sandbox.external_id)

    let before!: ActorRow
    const sockets = () => readdir(callbackDir(stack.dataDir))
    const oldSockets = await sockets()
    expect(oldSockets).toHaveLength(1)
    const server = await stack.restart({ OMOI_NODE_ID: 'node-b' }, async () => {
      before = await actorRow(specId)
      // the worker's way back (bubblewrap: a sandbox socket) went with the old server; it has to find the new one's
      expect(await sockets(), 'sandbox sockets while no server is up').toEqual([])
    })
    const newSockets = await sockets()
    expect(newSockets).toHaveLength(1)
    expect(newSockets, 'a new sandbox socket').not.toEqual(oldSockets)
    const seqAtRestart = (await owner.get(`/specs/${specId}`)).body.last_seq as number

    // the same state, the same attempt, generation, submissions, deadline and sandbox, on the new node
    expect(before.state).toBe('active.explore.working')
    expect(server.host.stateOf(specId)).toBe('active.explore.working')
    expect(server.host.context(specId)).toEqual(before.snapshot.context)
    const explore = before.snapshot.context.phases.explore
    expect(explore).toMatchObject({ status: 'running', attempt: 1, generation: 0, sandboxId: sandbox.id })
    expect(Date.parse(explore.deadline)).toBeGreaterThan(Date.now())
    const after = await actorRow(specId)
    expect(after.owner_node).toBe('node-b')
    expect(after.version).toBeGreaterThanOrEqual(before.version)
    expect(after.snapshot.context).toEqual(before.snapshot.context)
    const spec = (await owner.get(`/specs/${specId}`)).body
    expect(spec).toMatchObject({ status: 'executing', current_phase: 'explore' })
    expect(spec.phases.find((p: { phase: string }) => p.phase === 'explore')).toMatchObject({ status: 'running', attempts: 1 })
    expect(await isWorker(pid), 'the worker process outlives the server').toBe(true)

    hold.release()
    const done = await waitForStatus(owner, specId, ['completed', 'failed', 'cancelled'], 90_000)
    const events = await everyEvent(owner, specId)
    expect(done.status, JSON.stringify(events.filter((e) => /failed|error/.test(e.type)))).toBe('completed')

    // the worker kept going: one explore sandbox, the same id before and after, one agent.started, one conversation
    const rows = await sandboxesOf(stack.database.sql, specId)
    const exploreRows = rows.filter((r) => r.phase === 'explore')
    expect(exploreRows.map((r) => r.id)).toEqual([sandbox.id])
    expect(exploreRows[0]!.end_reason).not.toMatch(/replaced/)
    const keys = rows.map((r) => `${r.kind}:${r.phase}:${r.task_id}:${r.attempt}:${r.generation}`)
    expect(new Set(keys).size, keys.join('\n')).toBe(keys.length)
    const ofSandbox = events.filter((e) => e.sandbox_id === sandbox.id)
    expect(ofSandbox.filter((e) => e.type === 'agent.started')).toHaveLength(1)
    expect(ofSandbox.filter((e) => e.type === 'agent.completed')).toHaveLength(1)
    expect(ofSandbox.some((e) => e.source === 'agent' && e.seq > seqAtRestart), 'the worker reported to the new server').toBe(true)
    expect(events.filter((e) => e.type === 'spec.phase_started' && e.data.phase === 'explore')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'spec.sandbox_replaced')).toEqual([])
    // list_files, read_file, the rejected draft, the accepted submission: the conversation was not started over
    expect(conversationSteps(stack.gate.requests.filter((r) => r.submitTool === 'submit_exploration'))).toBe(4)
    expect(events.filter((e) => e.type === 'spec.phase_completed').map((e) => [e.data.phase, e.data.attempt])).toEqual([
      ['explore', 1],
      ['requirements', 1],
      ['design', 1],
      ['tasks', 1],
    ])
    expect(logProblems(events)).toEqual([])
    expect(events.filter((e) => e.type === 'spec.execution_completed')).toHaveLength(1)
  }, 150_000)

  it('a spec awaiting approval waits through a restart (same node id) and goes on when approved', async () => {
    const launch = await owner.post('/specs/launch', { project_id: projectId, title: 'Reminders', description: 'remind before due', approval: 'manual' })
    const specId: string = launch.body.spec_id
    await waitForStatus(owner, specId, ['awaiting_approval', 'failed'], 90_000)
    let before!: ActorRow
    const sockets = () => readdir(callbackDir(stack.dataDir))
    const oldSockets = await sockets()
    expect(oldSockets).toHaveLength(1)
    const server = await stack.restart({ OMOI_NODE_ID: 'node-b' }, async () => {
      before = await actorRow(specId)
      // the worker's way back (bubblewrap: a sandbox socket) went with the old server; it has to find the new one's
      expect(await sockets(), 'sandbox sockets while no server is up').toEqual([])
    })
    const newSockets = await sockets()
    expect(newSockets).toHaveLength(1)
    expect(newSockets, 'a new sandbox socket').not.toEqual(oldSockets)
    expect(before.state).toBe('active.requirements.awaiting')
    expect(server.host.stateOf(specId)).toBe('active.requirements.awaiting')
    expect(server.host.context(specId)).toEqual(before.snapshot.context)
    expect((await owner.get(`/specs/${specId}`)).body).toMatchObject({ status: 'awaiting_approval', current_phase: 'requirements' })

    const approved = await owner.post(`/specs/${specId}/approve`, { phase: 'requirements' })
    expect(approved.status, JSON.stringify(approved.body)).toBe(200)
    await waitForStatus(owner, specId, ['awaiting_approval', 'failed'], 90_000)
    expect((await owner.get(`/specs/${specId}`)).body.current_phase).toBe('design')
    expect((await owner.post(`/specs/${specId}/cancel`)).body.status).toBe('cancelled')
    expect(logProblems(await everyEvent(owner, specId))).toEqual([])
  }, 150_000)
})
