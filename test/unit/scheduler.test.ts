import { describe, expect, it } from 'vitest'
import { dependentsOf, isStuck, newTask, schedule, taskChildId, ticketStatus, type TaskMap, type TaskState } from '../../src/actors/scheduler.ts'
import type { TaskStatus } from '../../src/db/tickets.ts'

const NOW = Date.parse('2025-01-01T00:00:00.000Z')
const HOUR = 3_600_000

function task(key: string, depends_on: string[] = [], patch: Partial<TaskState> = {}): TaskState {
  return { ...newTask({ key, ticket: 'TKT-001', title: key, depends_on }), ...patch }
}

const map = (...tasks: TaskState[]): TaskMap => Object.fromEntries(tasks.map((t) => [t.key, t]))

/** TSK-001 → (TSK-002, TSK-003) → TSK-004, with the given statuses. */
const diamond = (s1: TaskStatus = 'pending', s2: TaskStatus = 'pending', s3: TaskStatus = 'pending', s4: TaskStatus = 'pending') =>
  map(
    task('TSK-001', [], { status: s1 }),
    task('TSK-002', ['TSK-001'], { status: s2 }),
    task('TSK-003', ['TSK-001'], { status: s3 }),
    task('TSK-004', ['TSK-002', 'TSK-003'], { status: s4 }),
  )

const statuses = (tasks: TaskMap) => Object.fromEntries(Object.values(tasks).map((t) => [t.key, t.status]))

describe('newTask and taskChildId', () => {
  it('a new task is pending with no attempt yet; child ids name task, attempt and generation', () => {
    const t = newTask({ key: 'TSK-001', ticket: 'TKT-001', title: 'x', depends_on: ['TSK-000'] })
    expect(t).toMatchObject({ status: 'pending', attempt: 0, submissions: 0, submissionIds: [], generation: 0, deadline: null, branch: null })
    expect(taskChildId({ key: 'TSK-001', attempt: 2, generation: 1 })).toBe('task:TSK-001:2:1')
  })
})

describe('schedule', () => {
  it('starts only tasks whose dependencies are completed, as a new attempt with a deadline', () => {
    const tasks = diamond()
    const { tasks: next, started } = schedule(tasks, 2, NOW, HOUR)
    expect(started.map((t) => t.key)).toEqual(['TSK-001'])
    expect(next['TSK-001']).toMatchObject({
      status: 'running',
      attempt: 1,
      generation: 0,
      submissions: 0,
      deadline: new Date(NOW + HOUR).toISOString(),
    })
    expect(statuses(next)).toEqual({ 'TSK-001': 'running', 'TSK-002': 'pending', 'TSK-003': 'pending', 'TSK-004': 'pending' })
    expect(tasks['TSK-001']!.status).toBe('pending') // the input is not changed
  })

  it('starts ready tasks in key order up to the concurrency and queues the rest', () => {
    const tasks = map(task('C'), task('A'), task('B'), task('D', ['A']))
    const { tasks: next, started } = schedule(tasks, 2, NOW, HOUR)
    expect(started.map((t) => t.key)).toEqual(['A', 'B'])
    expect(statuses(next)).toEqual({ A: 'running', B: 'running', C: 'queued', D: 'pending' })
  })

  it('counts tasks already running against the limit, and starts queued tasks when a slot frees', () => {
    const busy = diamond('completed', 'running', 'pending')
    expect(schedule(busy, 1, NOW, HOUR).started).toEqual([])
    expect(statuses(schedule(busy, 1, NOW, HOUR).tasks)['TSK-003']).toBe('queued')

    const freed = diamond('completed', 'completed', 'queued')
    const { tasks: next, started } = schedule(freed, 1, NOW, HOUR)
    expect(started.map((t) => t.key)).toEqual(['TSK-003'])
    expect(statuses(next)).toMatchObject({ 'TSK-003': 'running', 'TSK-004': 'pending' })
  })

  it('a retried task (attempt n, pending) starts as attempt n+1 with a fresh generation and no error', () => {
    const tasks = map(task('A', [], { status: 'pending', attempt: 2, generation: 2, submissions: 3, error: 'lost', sandboxId: 'sbx' }))
    const [s] = schedule(tasks, 2, NOW, HOUR).started
    expect(s).toMatchObject({ status: 'running', attempt: 3, generation: 0, submissions: 0, error: null, sandboxId: null })
  })

  it('never starts failed, blocked or completed tasks, nor a task whose dependency is unknown or failed', () => {
    const tasks = map(
      task('A', [], { status: 'failed' }),
      task('B', ['A'], { status: 'blocked' }),
      task('C', [], { status: 'completed' }),
      task('D', ['ZZZ']),
      task('E', ['A']),
    )
    const { tasks: next, started } = schedule(tasks, 5, NOW, HOUR)
    expect(started).toEqual([])
    expect(statuses(next)).toEqual({ A: 'failed', B: 'blocked', C: 'completed', D: 'pending', E: 'pending' })
  })

  it('an empty map schedules nothing', () => {
    expect(schedule({}, 2, NOW, HOUR)).toEqual({ tasks: {}, started: [] })
  })
})

describe('dependentsOf', () => {
  it('finds direct and indirect dependents once, sorted', () => {
    const tasks = diamond()
    expect(dependentsOf(tasks, 'TSK-001')).toEqual(['TSK-002', 'TSK-003', 'TSK-004'])
    expect(dependentsOf(tasks, 'TSK-003')).toEqual(['TSK-004'])
    expect(dependentsOf(tasks, 'TSK-004')).toEqual([])
    expect(dependentsOf(tasks, 'nope')).toEqual([])
  })

  it('terminates on a cycle', () => {
    const tasks = map(task('A', ['B']), task('B', ['A']))
    expect(dependentsOf(tasks, 'A')).toEqual(['A', 'B'])
  })
})

describe('isStuck', () => {
  it('is not stuck without a failed task', () => {
    expect(isStuck(diamond())).toBe(false)
    expect(isStuck(diamond('completed', 'completed', 'completed', 'completed'))).toBe(false)
    expect(isStuck({})).toBe(false)
  })

  it('is not stuck while something runs, is queued or can start', () => {
    expect(isStuck(diamond('completed', 'failed', 'running', 'blocked'))).toBe(false)
    expect(isStuck(diamond('completed', 'failed', 'queued', 'blocked'))).toBe(false)
    expect(isStuck(diamond('completed', 'failed', 'pending', 'blocked'))).toBe(false)
  })

  it('is stuck when a task failed and nothing else can move', () => {
    expect(isStuck(diamond('completed', 'failed', 'completed', 'blocked'))).toBe(true)
    expect(isStuck(diamond('failed', 'blocked', 'blocked', 'blocked'))).toBe(true)
    // a pending task waiting on a failed one cannot start either
    expect(isStuck(diamond('completed', 'failed', 'completed', 'pending'))).toBe(true)
  })
})

describe('ticketStatus', () => {
  const t = (status: TaskStatus, submissions = 0) => ({ status, submissions })

  it('backlog without tasks or while nothing started', () => {
    expect(ticketStatus([])).toBe('backlog')
    expect(ticketStatus([t('pending'), t('queued')])).toBe('backlog')
  })

  it('building once a task runs or completed', () => {
    expect(ticketStatus([t('running'), t('pending')])).toBe('building')
    expect(ticketStatus([t('completed'), t('pending')])).toBe('building')
    expect(ticketStatus([t('running', 1), t('pending')])).toBe('building')
    expect(ticketStatus([t('running', 0), t('completed')])).toBe('building')
  })

  it('testing when every task is built and what remains has submitted work', () => {
    expect(ticketStatus([t('running', 1), t('completed')])).toBe('testing')
    expect(ticketStatus([t('running', 2)])).toBe('testing')
  })

  it('done when all completed; blocked when any failed or is blocked', () => {
    expect(ticketStatus([t('completed'), t('completed')])).toBe('done')
    expect(ticketStatus([t('completed'), t('failed')])).toBe('blocked')
    expect(ticketStatus([t('running', 1), t('blocked')])).toBe('blocked')
  })
})
