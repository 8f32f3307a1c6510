import type { SystemEventType } from '../schemas/events.ts'
import type { LogEntry, RunnerInput, SpecContext, Verdict } from './machine-types.ts'
import {
  MAX_REPLACEMENTS,
  MAX_SUBMISSIONS,
  MAX_TASK_ATTEMPTS,
  dependentsOf,
  schedule,
  taskChildId,
  type TaskMap,
  type TaskState,
} from './scheduler.ts'

/**
 * One step of the execute phase, pure: given the context and what happened to a task, the new task map, the task
 * runners to stop and to spawn, and the log entries to write.
 */
export interface TaskStep {
  tasks: TaskMap
  stop: string[]
  spawn: { id: string; input: RunnerInput }[]
  logs: LogEntry[]
}

const log = (event: SystemEventType, data: Record<string, unknown>, sandboxId?: string | null): LogEntry => ({ type: 'log', event, data, sandboxId })

export function runnerInput(ctx: SpecContext, t: TaskState): RunnerInput {
  return {
    kind: 'task',
    task: t.key,
    specId: ctx.specId,
    attempt: t.attempt,
    generation: t.generation,
    deadline: t.deadline!,
    silenceMs: ctx.settings.silenceMs,
    mergeBranches: t.depends_on.map((d) => ctx.tasks[d]?.branch).filter((b): b is string => !!b),
  }
}

function withSchedule(ctx: SpecContext, step: TaskStep): TaskStep {
  const { tasks, started } = schedule(step.tasks, ctx.settings.taskConcurrency, Date.now(), ctx.settings.phaseTimeoutMs)
  const next = { ...ctx, tasks }
  return { ...step, tasks, spawn: [...step.spawn, ...started.map((t) => ({ id: taskChildId(t), input: runnerInput(next, t) }))] }
}

/** Start what can start (entering execute, or after a retry). Running tasks whose runner was stopped get a new one. */
export function startExecution(ctx: SpecContext, respawnRunning: boolean): TaskStep {
  const spawn = respawnRunning
    ? Object.values(ctx.tasks)
        .filter((t) => t.status === 'running')
        .map((t) => ({ id: taskChildId(t), input: runnerInput(ctx, t) }))
    : []
  return withSchedule(ctx, { tasks: ctx.tasks, stop: [], spawn, logs: [] })
}

/** An attempt of a task ended badly: retry it while attempts remain, else fail it and block its dependents. */
function failAttempt(ctx: SpecContext, tasks: TaskMap, t: TaskState, error: string, step: TaskStep): TaskStep {
  const stop = [...step.stop, taskChildId(t)]
  // attempts come in rounds of MAX_TASK_ATTEMPTS: a RETRY after a failed round starts the next round, numbers never reused
  const willRetry = t.attempt % MAX_TASK_ATTEMPTS !== 0
  const logs = [...step.logs, log('spec.task_failed', { task_id: t.key, error, attempt: t.attempt, will_retry: willRetry }, t.sandboxId)]
  if (willRetry) {
    return withSchedule(ctx, { ...step, stop, logs, tasks: { ...tasks, [t.key]: { ...t, status: 'pending', error } } })
  }
  const next: TaskMap = { ...tasks, [t.key]: { ...t, status: 'failed', error } }
  for (const d of dependentsOf(tasks, t.key)) {
    if (next[d]!.status === 'completed') continue
    next[d] = { ...next[d]!, status: 'blocked', error: `blocked: ${t.key} failed` }
    logs.push(log('spec.task_blocked', { task_id: d, blocked_by: t.key }))
  }
  return withSchedule(ctx, { ...step, stop, logs, tasks: next })
}

const current = (ctx: SpecContext, key: string, attempt: number): TaskState | null => {
  const t = ctx.tasks[key]
  return t && t.status === 'running' && t.attempt === attempt ? t : null
}

const nothing = (ctx: SpecContext): TaskStep => ({ tasks: ctx.tasks, stop: [], spawn: [], logs: [] })

export function onTaskSubmission(
  ctx: SpecContext,
  e: { task: string; attempt: number; resultId: string; verdict: Verdict; output: unknown },
): TaskStep {
  const t = current(ctx, e.task, e.attempt)
  if (!t || t.submissionIds.includes(e.resultId)) return nothing(ctx)
  const counted: TaskState = { ...t, submissions: t.submissions + 1, submissionIds: [...t.submissionIds, e.resultId] }
  if (e.verdict.accepted) {
    const output = (e.output ?? {}) as Record<string, unknown>
    const branch = typeof output.branch === 'string' ? output.branch : null
    const done: TaskState = { ...counted, status: 'completed', result: output, branch, error: null }
    return withSchedule(ctx, {
      tasks: { ...ctx.tasks, [t.key]: done },
      stop: [taskChildId(t)],
      spawn: [],
      logs: [log('spec.task_completed', { task_id: t.key, branch, attempt: t.attempt, eval_score: e.verdict.score }, t.sandboxId)],
    })
  }
  const retry = log('spec.phase_retry', { phase: 'execute', task_id: t.key, attempt: t.attempt, feedback: e.verdict.feedback }, t.sandboxId)
  if (counted.submissions < MAX_SUBMISSIONS) return { ...nothing(ctx), tasks: { ...ctx.tasks, [t.key]: counted }, logs: [retry] }
  return failAttempt(ctx, ctx.tasks, counted, `rejected ${MAX_SUBMISSIONS} times: ${e.verdict.feedback}`, { ...nothing(ctx), logs: [retry] })
}

export function onTaskProblem(
  ctx: SpecContext,
  e: { task: string; attempt: number; generation?: number; kind: 'lost' | 'error' | 'deadline' | 'agent_failed'; error: string },
): TaskStep {
  const t = current(ctx, e.task, e.attempt)
  if (!t || (e.generation !== undefined && e.generation !== t.generation)) return nothing(ctx)
  if (e.kind === 'lost' && t.generation < MAX_REPLACEMENTS) {
    const replaced: TaskState = { ...t, generation: t.generation + 1, sandboxId: null }
    return {
      tasks: { ...ctx.tasks, [t.key]: replaced },
      stop: [taskChildId(t)],
      spawn: [{ id: taskChildId(replaced), input: runnerInput(ctx, replaced) }],
      logs: [log('spec.sandbox_replaced', { task_id: t.key, attempt: t.attempt, generation: replaced.generation, reason: e.error }, t.sandboxId)],
    }
  }
  const error = e.kind === 'lost' ? `its sandbox was lost ${MAX_REPLACEMENTS + 1} times (${e.error})` : e.error
  return failAttempt(ctx, ctx.tasks, t, error, nothing(ctx))
}

/** Retry after the execution got stuck: the failed task (or all of them) and what they block start over. */
export function retryTasks(ctx: SpecContext, only?: string): TaskMap {
  const next: TaskMap = { ...ctx.tasks }
  const failed = Object.values(next).filter((t) => t.status === 'failed' && (!only || t.key === only))
  for (const t of failed) {
    // keep the attempt number: runners and sandboxes are keyed by (task, attempt), so a reused number would re-attach an old one
    next[t.key] = { ...t, status: 'pending', error: null }
    for (const d of dependentsOf(ctx.tasks, t.key)) if (next[d]!.status === 'blocked') next[d] = { ...next[d]!, status: 'pending', error: null }
  }
  return next
}

/** Runners to stop when leaving execute (pause, cancel): every running task's. */
export const runningChildIds = (tasks: TaskMap) =>
  Object.values(tasks)
    .filter((t) => t.status === 'running')
    .map(taskChildId)
