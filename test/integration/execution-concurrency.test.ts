import { afterEach, describe, expect, it } from 'vitest'
import { asUser } from '../support/api.ts'
import { waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { everyEvent, logProblems, sandboxesOf, startStack, type LoggedEvent, type Sandbox, type Stack } from '../support/stack.ts'

/**
 * EXECUTE's scheduling (CONTRACT §1 OMOI_TASK_CONCURRENCY, DESIGN §2.5), read from what the server recorded: the task
 * sandboxes' lifetimes and the order of task events. The plan is the fixture's diamond: A; B and C after A; D after both.
 */

let stack: Stack | undefined
afterEach(async () => {
  await stack?.stop()
  stack = undefined
})

const DEPENDS: Record<string, string[]> = { 'TSK-001': [], 'TSK-002': ['TSK-001'], 'TSK-003': ['TSK-001'], 'TSK-004': ['TSK-002', 'TSK-003'] }

async function runSpec(concurrency: number): Promise<{ rows: Sandbox[]; events: LoggedEvent[] }> {
  stack = await startStack({ skipBadSubmit: true }, { OMOI_TASK_CONCURRENCY: String(concurrency) })
  const owner = await asUser(stack.server.url, 'Owner')
  const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
  const specId: string = (await owner.post('/specs/launch', { project_id: project.id, title: 'Due dates', description: 'add due dates' })).body.spec_id
  const spec = await waitForStatus(owner, specId, ['completed', 'failed', 'cancelled'], 90_000)
  const events = await everyEvent(owner, specId)
  expect(spec.status, JSON.stringify(events.filter((e) => /failed/.test(e.type)))).toBe('completed')
  expect(logProblems(events)).toEqual([])
  // every task sandbox is ended once the spec is done
  const rows = await stack.database.sql<Sandbox[]>`select * from sandboxes where spec_id = ${specId} and kind = 'task' order by created_at`
  expect(rows.map((r) => r.status)).toEqual(['ended', 'ended', 'ended', 'ended'])
  expect((await sandboxesOf(stack.database.sql, specId)).filter((r) => r.status !== 'ended')).toEqual([])
  return { rows, events }
}

/** The most task sandboxes alive at one instant (alive: from its row's creation until it was ended). */
function mostAlive(rows: Sandbox[]): number {
  const edges = rows.flatMap((r) => [
    { at: r.created_at.getTime(), d: 1 },
    { at: r.ended_at!.getTime(), d: -1 },
  ])
  // an end and a start at the same millisecond do not overlap
  edges.sort((a, b) => a.at - b.at || a.d - b.d)
  let alive = 0
  let most = 0
  for (const e of edges) most = Math.max(most, (alive += e.d))
  return most
}

const lifetimes = (rows: Sandbox[]) =>
  'task sandboxes (created → ended):\n' + rows.map((r) => `${r.task_id} ${r.created_at.toISOString()} → ${r.ended_at!.toISOString()}`).join('\n')

/** Every task_started comes after the task_completed of each of its dependencies. */
function startedBeforeDependencies(events: LoggedEvent[]): string[] {
  const completedAt = new Map<string, number>()
  const problems: string[] = []
  for (const e of events) {
    if (e.type === 'spec.task_completed') completedAt.set(e.data.task_id, e.seq)
    if (e.type !== 'spec.task_started') continue
    for (const dep of DEPENDS[e.data.task_id] ?? []) {
      if (!completedAt.has(dep)) problems.push(`${e.data.task_id} started (seq ${e.seq}) before ${dep} completed`)
    }
  }
  return problems
}

describe('task concurrency and order', () => {
  it('OMOI_TASK_CONCURRENCY=1: never more than one task sandbox alive, one task running at a time, dependencies first', async () => {
    const { rows, events } = await runSpec(1)
    expect(rows.map((r) => r.task_id)).toEqual(['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004'])
    expect(mostAlive(rows), lifetimes(rows)).toBe(1)
    // in the log too: a task starts only after the one before it completed
    const flow = events.filter((e) => e.type === 'spec.task_started' || e.type === 'spec.task_completed').map((e) => `${e.type.slice(10)} ${e.data.task_id}`)
    expect(flow).toEqual([
      'started TSK-001',
      'completed TSK-001',
      'started TSK-002',
      'completed TSK-002',
      'started TSK-003',
      'completed TSK-003',
      'started TSK-004',
      'completed TSK-004',
    ])
    expect(startedBeforeDependencies(events)).toEqual([])
  }, 150_000)

  it('OMOI_TASK_CONCURRENCY=2: B and C run at the same time; D waits for both', async () => {
    const { rows, events } = await runSpec(2)
    const row = (key: string) => rows.find((r) => r.task_id === key)!
    const [b, c] = [row('TSK-002'), row('TSK-003')]
    expect(b.created_at < c.ended_at! && c.created_at < b.ended_at!, 'the sandboxes of B and C overlap').toBe(true)
    expect(mostAlive(rows), lifetimes(rows)).toBe(2)
    // both were started before either completed
    const seq = (type: string, key: string) => events.find((e) => e.type === type && e.data.task_id === key)!.seq
    expect(Math.max(seq('spec.task_started', 'TSK-002'), seq('spec.task_started', 'TSK-003'))).toBeLessThan(
      Math.min(seq('spec.task_completed', 'TSK-002'), seq('spec.task_completed', 'TSK-003')),
    )
    expect(startedBeforeDependencies(events)).toEqual([])
  }, 150_000)
})
