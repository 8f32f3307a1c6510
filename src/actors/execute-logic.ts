import type { SystemEventType } from '../schemas/events.ts'
import type { DeliveryState, LogEntry, MergeInput, RunnerInput, SpecContext, Verdict } from './machine-types.ts'
import {
  MAX_FIXUPS,
  MAX_REPLACEMENTS,
  MAX_SUBMISSIONS,
  MAX_TASK_ATTEMPTS,
  dependentsOf,
  mergeChildId,
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
  /** The spec branch's new state, when it changed. */
  delivery?: DeliveryState
  /** Merges to start (the head of the merge queue). */
  merges?: { id: string; input: MergeInput }[]
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
    ...((t.stage === 'fixup' ? t.mergeBranch : ctx.delivery?.branch) ? { baseBranch: (t.stage === 'fixup' ? t.mergeBranch : ctx.delivery?.branch)! } : {}),
    fixup: t.fixup ?? 0,
  }
}

export function mergeInput(ctx: SpecContext, t: TaskState): MergeInput {
  return {
    specId: ctx.specId,
    task: t.key,
    title: t.title,
    attempt: t.attempt,
    fixup: t.fixup ?? 0,
    commit: t.commit!,
    specBranch: ctx.delivery!.branch,
  }
}

/** The merge to run now: the head of the queue, if that task still waits to be merged. */
function headMerge(ctx: SpecContext, tasks: TaskMap, delivery: DeliveryState | null | undefined): { id: string; input: MergeInput }[] {
  const key = delivery?.mergeQueue[0]
  const t = key ? tasks[key] : undefined
  if (!t || t.status !== 'running' || t.stage !== 'merging') return []
  return [{ id: mergeChildId(t), input: mergeInput({ ...ctx, tasks, delivery }, t) }]
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
        .filter((t) => t.status === 'running' && t.stage !== 'merging')
        .map((t) => ({ id: taskChildId(t), input: runnerInput(ctx, t) }))
    : []
  const merges = respawnRunning ? headMerge(ctx, ctx.tasks, ctx.delivery) : []
  return withSchedule(ctx, { tasks: ctx.tasks, stop: [], spawn, logs: [], merges })
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
  if (!t || t.stage === 'merging' || t.submissionIds.includes(e.resultId)) return nothing(ctx)
  const counted: TaskState = { ...t, submissions: t.submissions + 1, submissionIds: [...t.submissionIds, e.resultId] }
  if (e.verdict.accepted) {
    const output = (e.output ?? {}) as Record<string, unknown>
    const branch = typeof output.branch === 'string' ? output.branch : null
    const commit = typeof output.commit === 'string' ? output.commit : null
    const accepted: TaskState = { ...counted, stage: 'merging', result: output, branch, commit, error: null }
    const tasks = { ...ctx.tasks, [t.key]: accepted }
    const delivery = { ...ctx.delivery!, mergeQueue: [...ctx.delivery!.mergeQueue.filter((k) => k !== t.key), t.key] }
    return {
      tasks,
      stop: [taskChildId(t)],
      spawn: [],
      logs: [],
      delivery,
      merges: delivery.mergeQueue.length === 1 ? headMerge(ctx, tasks, delivery) : [],
    }
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
  if (!t || t.stage === 'merging' || (e.generation !== undefined && e.generation !== t.generation)) return nothing(ctx)
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

const merging = (ctx: SpecContext, key: string, attempt: number, fixup: number): TaskState | null => {
  const t = current(ctx, key, attempt)
  return t && t.stage === 'merging' && (t.fixup ?? 0) === fixup && ctx.delivery?.mergeQueue[0] === key ? t : null
}

/** The merge queue without its head, and the next merge to start. */
function nextMerge(ctx: SpecContext, tasks: TaskMap, key: string, commit?: string): Pick<TaskStep, 'delivery' | 'merges'> {
  const delivery = {
    ...ctx.delivery!,
    mergeQueue: ctx.delivery!.mergeQueue.filter((k) => k !== key),
    ...(commit ? { commit, lastMerged: key } : {}),
  }
  return { delivery, merges: headMerge(ctx, tasks, delivery) }
}

/** The task's commit is in the spec branch: the task is completed, what depended on it may start. */
export function onTaskMerged(ctx: SpecContext, e: { task: string; attempt: number; fixup: number; commit: string }): TaskStep {
  const t = merging(ctx, e.task, e.attempt, e.fixup)
  if (!t) return nothing(ctx)
  const tasks = { ...ctx.tasks, [t.key]: { ...t, status: 'completed' as const, stage: undefined, error: null } }
  const next = nextMerge(ctx, tasks, t.key, e.commit)
  const step = withSchedule(
    { ...ctx, delivery: next.delivery },
    { tasks, stop: [], spawn: [], logs: [log('spec.task_completed', { task_id: t.key, branch: t.branch, commit: e.commit, attempt: t.attempt }, t.sandboxId)] },
  )
  return { ...step, ...next }
}

/** Merging conflicted: an agent resolves it on the merge branch (a fix-up run), while fix-ups remain. */
export function onTaskMergeConflict(
  ctx: SpecContext,
  e: { task: string; attempt: number; fixup: number; files: string[]; mergeBranch: string },
): TaskStep {
  const t = merging(ctx, e.task, e.attempt, e.fixup)
  if (!t) return nothing(ctx)
  const conflict = log('spec.merge_conflict', { task_id: t.key, files: e.files, branch: e.mergeBranch, fixup: (t.fixup ?? 0) + 1 }, t.sandboxId)
  if ((t.fixup ?? 0) >= MAX_FIXUPS) {
    const error = `merging into ${ctx.delivery!.branch} still conflicts in ${e.files.join(', ')} after ${MAX_FIXUPS} fix-up runs`
    const failed = failAttempt(ctx, ctx.tasks, t, error, { ...nothing(ctx), logs: [conflict] })
    return { ...failed, stop: failed.stop.filter((id) => id !== taskChildId(t)), ...nextMerge(ctx, failed.tasks, t.key) }
  }
  const fix: TaskState = {
    ...t,
    stage: 'fixup',
    fixup: (t.fixup ?? 0) + 1,
    generation: 0,
    submissions: 0,
    sandboxId: null,
    mergeBranch: e.mergeBranch,
    conflicts: e.files,
    fixupReason: null,
    deadline: new Date(Date.now() + ctx.settings.phaseTimeoutMs).toISOString(),
  }
  const tasks = { ...ctx.tasks, [t.key]: fix }
  const next = nextMerge(ctx, tasks, t.key)
  return { tasks, stop: [], spawn: [{ id: taskChildId(fix), input: runnerInput({ ...ctx, tasks }, fix) }], logs: [conflict], ...next }
}

/** The merge could not be done at all (git failed): the attempt fails like any other. */
export function onTaskMergeError(ctx: SpecContext, e: { task: string; attempt: number; fixup: number; error: string }): TaskStep {
  const t = merging(ctx, e.task, e.attempt, e.fixup)
  if (!t) return nothing(ctx)
  const failed = failAttempt(ctx, ctx.tasks, t, `merging into the spec branch failed: ${e.error}`, nothing(ctx))
  return { ...failed, ...nextMerge(ctx, failed.tasks, t.key) }
}

/** Fix-up runs a failing check on the spec branch gets before the spec fails. */
export const MAX_INTEGRATION_FIXUPS = 1

/** Whether a failing integrated check still gets a fix-up run. */
export const canFixIntegration = (ctx: SpecContext) =>
  !!ctx.delivery?.lastMerged && !!ctx.tasks[ctx.delivery.lastMerged] && (ctx.delivery.integrationFixups ?? 0) < MAX_INTEGRATION_FIXUPS

/**
 * The check failed on the spec branch with every task merged: the task merged last runs again as a fix-up on the spec
 * branch itself, told the check's output; once merged, the check runs on the spec branch again.
 */
export function startIntegrationFixup(ctx: SpecContext, check: { command: string; exit_code: number | null; output_tail: string }): Partial<SpecContext> {
  const d = ctx.delivery!
  const t = ctx.tasks[d.lastMerged!]!
  const fixupReason =
    `The check \`${check.command}\` fails on the spec branch ${d.branch}, where every task is merged ` +
    `(exit code ${check.exit_code}). Your workspace is that branch: make the check pass, then call complete_task. ` +
    `Its output ends with:\n${check.output_tail}`
  return {
    delivery: { ...d, integrationFixups: (d.integrationFixups ?? 0) + 1, integrated: null },
    tasks: {
      ...ctx.tasks,
      [t.key]: {
        ...t,
        status: 'running',
        stage: 'fixup',
        fixup: (t.fixup ?? 0) + 1,
        generation: 0,
        submissions: 0,
        sandboxId: null,
        mergeBranch: d.branch,
        conflicts: [],
        fixupReason,
        deadline: new Date(Date.now() + ctx.settings.phaseTimeoutMs).toISOString(),
      },
    },
  }
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

/** Children to stop when leaving execute (pause, cancel): every running task's runner or merge. */
export const runningChildIds = (tasks: TaskMap) =>
  Object.values(tasks)
    .filter((t) => t.status === 'running')
    .map((t) => (t.stage === 'merging' ? mergeChildId(t) : taskChildId(t)))
