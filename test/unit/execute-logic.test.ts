import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  canFixIntegration,
  onTaskMerged,
  onTaskMergeConflict,
  onTaskProblem,
  onTaskSubmission,
  retryTasks,
  runnerInput,
  runningChildIds,
  startExecution,
  startIntegrationFixup,
} from '../../src/actors/execute-logic.ts'
import type { SpecContext } from '../../src/actors/machine-types.ts'
import { initialContext } from '../../src/actors/phase-logic.ts'
import { newTask, type TaskMap, type TaskState } from '../../src/actors/scheduler.ts'
import type { TaskStatus } from '../../src/db/tickets.ts'

const NOW = new Date('2025-01-01T00:00:00.000Z')
const DEADLINE = '2025-01-01T01:00:00.000Z'

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(NOW)
})
afterEach(() => vi.useRealTimers())

const running = (attempt = 1, patch: Partial<TaskState> = {}): Partial<TaskState> => ({ status: 'running', attempt, deadline: DEADLINE, ...patch })

function ctx(statuses: [TaskStatus | Partial<TaskState>, TaskStatus | Partial<TaskState>, TaskStatus | Partial<TaskState>, TaskStatus | Partial<TaskState>], concurrency = 2): SpecContext {
  const deps: Record<string, string[]> = { 'TSK-001': [], 'TSK-002': ['TSK-001'], 'TSK-003': ['TSK-001'], 'TSK-004': ['TSK-002', 'TSK-003'] }
  const tasks: TaskMap = {}
  Object.keys(deps).forEach((key, i) => {
    const s = statuses[i]!
    tasks[key] = { ...newTask({ key, ticket: 'TKT-001', title: key, depends_on: deps[key]! }), ...(typeof s === 'string' ? { status: s } : s) }
  })
  const base = initialContext({ specId: 'spec_x', approval: 'auto', kind: 'spec', settings: { silenceMs: 60_000, phaseTimeoutMs: 3_600_000, taskConcurrency: concurrency } })
  const delivery = { branch: 'omoi/x/spec', base: 'main', baseCommit: 'c0', commit: 'c0', checkCommand: 'npm test', mergeQueue: [], integrated: null, pullRequest: null }
  return { ...base, currentPhase: 'execute', tasks, delivery }
}

const ok = { accepted: true, score: 0.95, feedback: 'fine' }
const no = { accepted: false, score: 0.3, feedback: 'tests fail' }

describe('runnerInput and startExecution', () => {
  it('a task runner gets the spec, task, attempt, generation, deadline, silence limit and the spec branch to start from', () => {
    const c = ctx([running(2, { generation: 1 }), 'pending', 'pending', 'pending'])
    expect(runnerInput(c, c.tasks['TSK-001']!)).toEqual({
      kind: 'task',
      task: 'TSK-001',
      specId: 'spec_x',
      attempt: 2,
      generation: 1,
      deadline: DEADLINE,
      silenceMs: 60_000,
      baseBranch: 'omoi/x/spec',
      fixup: 0,
    })
    // a fix-up run starts from the merge branch that holds the conflict
    const fix = ctx([running(1, { stage: 'fixup', fixup: 1, mergeBranch: 'omoi/x/TSK-001-merge-1' }), 'pending', 'pending', 'pending'])
    expect(runnerInput(fix, fix.tasks['TSK-001']!)).toMatchObject({ baseBranch: 'omoi/x/TSK-001-merge-1', fixup: 1 })
  })

  it('entering execute spawns the ready tasks; after a pause it also respawns the running ones', () => {
    const fresh = startExecution(ctx(['pending', 'pending', 'pending', 'pending']), false)
    expect(fresh.spawn.map((s) => s.id)).toEqual(['task:TSK-001:1:0'])
    expect(fresh.spawn[0]!.input).toMatchObject({ task: 'TSK-001', attempt: 1, deadline: DEADLINE })
    expect(fresh.stop).toEqual([])

    const resumed = ctx(['completed', running(1, { generation: 1 }), 'queued', 'pending'])
    expect(startExecution(resumed, true).spawn.map((s) => s.id)).toEqual(['task:TSK-002:1:1', 'task:TSK-003:1:0'])
    expect(startExecution(resumed, false).spawn.map((s) => s.id)).toEqual(['task:TSK-003:1:0'])
  })
})

describe('onTaskSubmission', () => {
  it('an accepted submission queues the task for merging into the spec branch; the merge completes it and starts what it unblocks', () => {
    const c = ctx([running(1, { sandboxId: 'sbx_1' }), 'pending', 'pending', 'pending'])
    const output = { branch: 'omoi/spec_x/TSK-001', commit: 'c1', summary: 's' }
    const step = onTaskSubmission(c, { task: 'TSK-001', attempt: 1, resultId: 'r1', verdict: ok, output })
    expect(step.tasks['TSK-001']).toMatchObject({ status: 'running', stage: 'merging', branch: 'omoi/spec_x/TSK-001', commit: 'c1', submissionIds: ['r1'] })
    expect(step.tasks['TSK-001']!.result).toEqual(output)
    expect(step.stop).toEqual(['task:TSK-001:1:0'])
    expect(step.spawn).toEqual([])
    expect(step.delivery!.mergeQueue).toEqual(['TSK-001'])
    expect(step.merges).toEqual([
      { id: 'merge:TSK-001:1:0', input: { specId: 'spec_x', task: 'TSK-001', title: 'TSK-001', attempt: 1, fixup: 0, commit: 'c1', specBranch: 'omoi/x/spec' } },
    ])
    expect(step.logs).toEqual([])

    const merged = onTaskMerged({ ...c, tasks: step.tasks, delivery: step.delivery! }, { task: 'TSK-001', attempt: 1, fixup: 0, commit: 'm1' })
    expect(merged.tasks['TSK-001']).toMatchObject({ status: 'completed' })
    expect(merged.delivery).toMatchObject({ mergeQueue: [], commit: 'm1' })
    expect(merged.spawn.map((s) => s.id)).toEqual(['task:TSK-002:1:0', 'task:TSK-003:1:0'])
    expect(merged.logs).toEqual([
      { type: 'log', event: 'spec.task_completed', data: { task_id: 'TSK-001', branch: 'omoi/spec_x/TSK-001', commit: 'm1', attempt: 1 }, sandboxId: 'sbx_1' },
    ])
  })

  it('merges one task at a time, in the order they were accepted', () => {
    let c = ctx(['completed', running(1), running(1), 'pending'])
    for (const [key, commit] of [['TSK-003', 'c3'], ['TSK-002', 'c2']] as const) {
      const step = onTaskSubmission(c, { task: key, attempt: 1, resultId: key, verdict: ok, output: { branch: key, commit } })
      c = { ...c, tasks: step.tasks, delivery: step.delivery! }
      if (key === 'TSK-003') expect(step.merges!.map((m) => m.id)).toEqual(['merge:TSK-003:1:0'])
      else expect(step.merges).toEqual([])
    }
    expect(c.delivery!.mergeQueue).toEqual(['TSK-003', 'TSK-002'])
    // a report for a task that is not at the head is not taken
    expect(onTaskMerged(c, { task: 'TSK-002', attempt: 1, fixup: 0, commit: 'x' }).tasks).toBe(c.tasks)
    const step = onTaskMerged(c, { task: 'TSK-003', attempt: 1, fixup: 0, commit: 'm3' })
    expect(step.merges!.map((m) => m.id)).toEqual(['merge:TSK-002:1:0'])
    expect(step.spawn).toEqual([])
  })

  it('a merge conflict becomes a fix-up run naming the files; after the last fix-up the attempt fails', () => {
    const c = ctx([running(1, { stage: 'merging', commit: 'c1' }), 'pending', 'pending', 'pending'])
    const queued = { ...c, delivery: { ...c.delivery!, mergeQueue: ['TSK-001'] } }
    const step = onTaskMergeConflict(queued, { task: 'TSK-001', attempt: 1, fixup: 0, files: ['src/greet.js'], mergeBranch: 'omoi/x/TSK-001-merge-1' })
    expect(step.tasks['TSK-001']).toMatchObject({ status: 'running', stage: 'fixup', fixup: 1, conflicts: ['src/greet.js'], submissions: 0 })
    expect(step.spawn.map((s) => s.id)).toEqual(['task:TSK-001:1:0:fix1'])
    expect(step.spawn[0]!.input).toMatchObject({ baseBranch: 'omoi/x/TSK-001-merge-1', fixup: 1 })
    expect(step.delivery!.mergeQueue).toEqual([])
    expect(step.logs.map((l) => [l.event, l.data.files])).toEqual([['spec.merge_conflict', ['src/greet.js']]])

    const last = { ...queued, tasks: { ...queued.tasks, 'TSK-001': { ...queued.tasks['TSK-001']!, fixup: 2 } } }
    const failed = onTaskMergeConflict(last, { task: 'TSK-001', attempt: 1, fixup: 2, files: ['src/greet.js'], mergeBranch: 'b' })
    expect(failed.logs.find((l) => l.event === 'spec.task_failed')!.data.error).toContain('still conflicts in src/greet.js after 2 fix-up runs')
    // the next attempt starts over from the spec branch
    expect(failed.tasks['TSK-001']).toMatchObject({ status: 'running', attempt: 2, stage: 'work', fixup: 0 })
    expect(failed.delivery!.mergeQueue).toEqual([])
  })

  it('a missing or non-string branch is stored as null', () => {
    const c = ctx([running(), 'pending', 'pending', 'pending'])
    expect(onTaskSubmission(c, { task: 'TSK-001', attempt: 1, resultId: 'r', verdict: ok, output: null }).tasks['TSK-001']!.branch).toBeNull()
    expect(onTaskSubmission(c, { task: 'TSK-001', attempt: 1, resultId: 'r', verdict: ok, output: { branch: 7 } }).tasks['TSK-001']!.branch).toBeNull()
  })

  it('ignores a duplicate result, another attempt, an unknown task and a task that is not running', () => {
    const c = ctx([running(2, { submissionIds: ['r1'], submissions: 1 }), 'pending', 'pending', 'pending'])
    const nothing = { tasks: c.tasks, stop: [], spawn: [], logs: [] }
    expect(onTaskSubmission(c, { task: 'TSK-001', attempt: 2, resultId: 'r1', verdict: ok, output: {} })).toEqual(nothing)
    expect(onTaskSubmission(c, { task: 'TSK-001', attempt: 1, resultId: 'r2', verdict: ok, output: {} })).toEqual(nothing)
    expect(onTaskSubmission(c, { task: 'TSK-009', attempt: 1, resultId: 'r2', verdict: ok, output: {} })).toEqual(nothing)
    expect(onTaskSubmission(c, { task: 'TSK-002', attempt: 0, resultId: 'r2', verdict: ok, output: {} })).toEqual(nothing)
  })

  it('a rejection is counted and told; the third one ends the attempt and a new one starts', () => {
    const c = ctx([running(1, { submissions: 1, submissionIds: ['r1'] }), 'pending', 'pending', 'pending'])
    const second = onTaskSubmission(c, { task: 'TSK-001', attempt: 1, resultId: 'r2', verdict: no, output: {} })
    expect(second.tasks['TSK-001']).toMatchObject({ status: 'running', submissions: 2, submissionIds: ['r1', 'r2'] })
    expect(second.stop).toEqual([])
    expect(second.spawn).toEqual([])
    expect(second.logs.map((l) => [l.event, l.data])).toEqual([['spec.phase_retry', { phase: 'execute', task_id: 'TSK-001', attempt: 1, feedback: 'tests fail' }]])

    const third = onTaskSubmission({ ...c, tasks: second.tasks }, { task: 'TSK-001', attempt: 1, resultId: 'r3', verdict: no, output: {} })
    expect(third.stop).toEqual(['task:TSK-001:1:0'])
    expect(third.spawn.map((s) => s.id)).toEqual(['task:TSK-001:2:0'])
    expect(third.tasks['TSK-001']).toMatchObject({ status: 'running', attempt: 2, submissions: 0, error: null })
    expect(third.logs.map((l) => l.event)).toEqual(['spec.phase_retry', 'spec.task_failed'])
    expect(third.logs[1]!.data).toEqual({ task_id: 'TSK-001', error: 'rejected 3 times: tests fail', attempt: 1, will_retry: true })
  })
})

describe('onTaskProblem', () => {
  it('a lost sandbox is replaced by the next generation, at most twice', () => {
    const c = ctx([running(1, { generation: 1, sandboxId: 'sbx_a' }), 'pending', 'pending', 'pending'])
    const step = onTaskProblem(c, { task: 'TSK-001', attempt: 1, generation: 1, kind: 'lost', error: 'silent' })
    expect(step.tasks['TSK-001']).toMatchObject({ status: 'running', attempt: 1, generation: 2, sandboxId: null })
    expect(step.stop).toEqual(['task:TSK-001:1:1'])
    expect(step.spawn).toEqual([{ id: 'task:TSK-001:1:2', input: expect.objectContaining({ attempt: 1, generation: 2 }) }])
    expect(step.logs[0]).toMatchObject({ event: 'spec.sandbox_replaced', data: { task_id: 'TSK-001', attempt: 1, generation: 2, reason: 'silent' }, sandboxId: 'sbx_a' })

    const last = onTaskProblem({ ...c, tasks: step.tasks }, { task: 'TSK-001', attempt: 1, generation: 2, kind: 'lost', error: 'silent' })
    expect(last.logs[0]).toMatchObject({ event: 'spec.task_failed', data: { error: 'its sandbox was lost 3 times (silent)', will_retry: true } })
    expect(last.spawn.map((s) => s.id)).toEqual(['task:TSK-001:2:0'])
  })

  it('ignores reports about another generation or attempt', () => {
    const c = ctx([running(1, { generation: 1 }), 'pending', 'pending', 'pending'])
    expect(onTaskProblem(c, { task: 'TSK-001', attempt: 1, generation: 0, kind: 'lost', error: 'x' }).logs).toEqual([])
    expect(onTaskProblem(c, { task: 'TSK-001', attempt: 2, kind: 'agent_failed', error: 'x' }).logs).toEqual([])
  })

  it('the last attempt failing fails the task and blocks every dependent that is not completed', () => {
    const c = ctx(['completed', running(3, { sandboxId: 'sbx_3' }), running(1), 'pending'])
    const step = onTaskProblem(c, { task: 'TSK-002', attempt: 3, generation: 0, kind: 'deadline', error: 'too slow' })
    expect(step.tasks['TSK-002']).toMatchObject({ status: 'failed', error: 'too slow' })
    expect(step.tasks['TSK-004']).toMatchObject({ status: 'blocked', error: 'blocked: TSK-002 failed' })
    expect(step.tasks['TSK-003']!.status).toBe('running')
    expect(step.stop).toEqual(['task:TSK-002:3:0'])
    expect(step.spawn).toEqual([])
    expect(step.logs.map((l) => [l.event, l.data])).toEqual([
      ['spec.task_failed', { task_id: 'TSK-002', error: 'too slow', attempt: 3, will_retry: false }],
      ['spec.task_blocked', { task_id: 'TSK-004', blocked_by: 'TSK-002' }],
    ])
  })
})

describe('retryTasks and runningChildIds', () => {
  const stuck = () => ctx(['completed', { status: 'failed', attempt: 3, error: 'e' }, { status: 'failed', attempt: 3, error: 'e' }, 'blocked'])

  it('retries only the named task and unblocks its dependents, keeping its attempt number for the next round', () => {
    const tasks = retryTasks(stuck(), 'TSK-002')
    expect(tasks['TSK-002']).toMatchObject({ status: 'pending', attempt: 3, error: null })
    expect(tasks['TSK-003']!.status).toBe('failed')
    expect(tasks['TSK-004']).toMatchObject({ status: 'pending', error: null })
    expect(tasks['TSK-001']!.status).toBe('completed')
  })

  it('without a task retries every failed one', () => {
    const tasks = retryTasks(stuck())
    expect(Object.values(tasks).map((t) => t.status)).toEqual(['completed', 'pending', 'pending', 'pending'])
  })

  it('the retried round gets its own three attempts', () => {
    const c = stuck()
    const retried = startExecution({ ...c, tasks: retryTasks(c, 'TSK-002') }, false)
    expect(retried.spawn.map((s) => s.id)).toEqual(['task:TSK-002:4:0'])
    const fail = (attempt: number, tasks: TaskMap) => onTaskProblem({ ...c, tasks }, { task: 'TSK-002', attempt, kind: 'agent_failed', error: 'x' })
    const a4 = fail(4, retried.tasks)
    expect(a4.logs[0]!.data.will_retry).toBe(true)
    const a5 = fail(5, a4.tasks)
    expect(a5.logs[0]!.data.will_retry).toBe(true)
    const a6 = fail(6, a5.tasks)
    expect(a6.logs[0]!.data.will_retry).toBe(false)
    expect(a6.tasks['TSK-002']!.status).toBe('failed')
  })

  it('lists the child ids of running tasks', () => {
    expect(runningChildIds(ctx(['completed', running(2, { generation: 1 }), running(1), 'pending']).tasks)).toEqual(['task:TSK-002:2:1', 'task:TSK-003:1:0'])
  })
})

describe('a failing check on the spec branch', () => {
  it('hands the task merged last a fix-up run on the spec branch, once', () => {
    const base = ctx(['completed', 'completed', 'completed', 'completed'])
    const c = { ...base, delivery: { ...base.delivery!, lastMerged: 'TSK-004' } }
    expect(canFixIntegration(c)).toBe(true)
    const next = startIntegrationFixup(c, { command: 'npm test', exit_code: 1, output_tail: '1 failed' })
    expect(next.tasks!['TSK-004']).toMatchObject({ status: 'running', stage: 'fixup', fixup: 1, mergeBranch: 'omoi/x/spec', submissions: 0 })
    expect(next.tasks!['TSK-004']!.fixupReason).toContain('1 failed')
    const after = { ...c, ...next } as SpecContext
    expect(runnerInput(after, after.tasks['TSK-004']!)).toMatchObject({ baseBranch: 'omoi/x/spec', fixup: 1 })
    expect(canFixIntegration(after)).toBe(false)
  })
})
