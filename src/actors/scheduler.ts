import type { TaskStatus, TicketStatus } from '../db/tickets.ts'

/** The execute phase's pure bookkeeping: which tasks start, which are blocked, how tickets follow their tasks. */

export const MAX_TASK_ATTEMPTS = 3 // the first run and 2 retries
export const MAX_SUBMISSIONS = 3
export const MAX_REPLACEMENTS = 2
/** Merge fix-up runs one task attempt may get before the attempt fails. */
export const MAX_FIXUPS = 2

export interface TaskState {
  key: string
  ticket: string
  title: string
  depends_on: string[]
  status: TaskStatus
  attempt: number
  submissions: number
  submissionIds: string[]
  generation: number
  deadline: string | null
  sandboxId: string | null
  branch: string | null
  error: string | null
  result: Record<string, unknown> | null
  /** The files the plan says the task touches: two tasks whose files overlap never run at once. */
  files?: string[]
  /**
   * While `running`: `work` (the agent at it), `merging` (accepted, its commit waits to be merged into the spec branch)
   * or `fixup` (the merge conflicted; an agent resolves it on `mergeBranch`).
   */
  stage?: 'work' | 'merging' | 'fixup'
  /** Fix-up runs of this attempt so far. */
  fixup?: number
  /** The accepted commit (what is merged). */
  commit?: string | null
  mergeBranch?: string | null
  conflicts?: string[]
  /** What a fix-up run is told to fix, when it is not a merge conflict (the integrated check failed). */
  fixupReason?: string | null
}

export type TaskMap = Record<string, TaskState>

export const taskChildId = (t: Pick<TaskState, 'key' | 'attempt' | 'generation' | 'fixup'>) =>
  `task:${t.key}:${t.attempt}:${t.generation}${t.fixup ? `:fix${t.fixup}` : ''}`

/** The child that merges a task's accepted commit into the spec branch. */
export const mergeChildId = (t: Pick<TaskState, 'key' | 'attempt' | 'fixup'>) => `merge:${t.key}:${t.attempt}:${t.fixup ?? 0}`

export function newTask(plan: { key: string; ticket: string; title: string; depends_on: string[]; files?: string[] }): TaskState {
  return {
    files: [],
    ...plan,
    status: 'pending',
    attempt: 0,
    submissions: 0,
    submissionIds: [],
    generation: 0,
    deadline: null,
    sandboxId: null,
    branch: null,
    error: null,
    result: null,
  }
}

/**
 * Starts every task whose dependencies are all completed, up to `concurrency` running at once; the ready rest are
 * `queued`. Returns the new map and the tasks just started (their child actors must be spawned).
 */
export function schedule(tasks: TaskMap, concurrency: number, now: number, timeoutMs: number): { tasks: TaskMap; started: TaskState[] } {
  const next: TaskMap = { ...tasks }
  let running = Object.values(next).filter((t) => t.status === 'running').length
  const started: TaskState[] = []
  for (const key of Object.keys(next).sort()) {
    const t = next[key]!
    if (t.status !== 'pending' && t.status !== 'queued') continue
    if (!t.depends_on.every((d) => next[d]?.status === 'completed')) continue
    if (running >= concurrency || overlapsRunning(next, t)) {
      next[key] = { ...t, status: 'queued' }
      continue
    }
    const s: TaskState = {
      ...t,
      status: 'running',
      attempt: t.attempt + 1,
      submissions: 0,
      generation: 0,
      deadline: new Date(now + timeoutMs).toISOString(),
      sandboxId: null,
      error: null,
      stage: 'work',
      fixup: 0,
      commit: null,
      mergeBranch: null,
      conflicts: [],
      fixupReason: null,
    }
    next[key] = s
    started.push(s)
    running++
  }
  return { tasks: next, started }
}

/** Whether a running task declares a file this one declares too (they would edit the same file at once). */
function overlapsRunning(tasks: TaskMap, t: TaskState): boolean {
  const mine = new Set(t.files ?? [])
  if (mine.size === 0) return false
  return Object.values(tasks).some((o) => o.key !== t.key && o.status === 'running' && (o.files ?? []).some((f) => mine.has(f)))
}

/** Every task that depends on `key`, directly or not. */
export function dependentsOf(tasks: TaskMap, key: string): string[] {
  const out = new Set<string>()
  const visit = (k: string) => {
    for (const t of Object.values(tasks)) {
      if (t.depends_on.includes(k) && !out.has(t.key)) {
        out.add(t.key)
        visit(t.key)
      }
    }
  }
  visit(key)
  return [...out].sort()
}

export const allCompleted = (tasks: TaskMap) => Object.values(tasks).every((t) => t.status === 'completed')

/** Nothing runs and nothing can start: some task failed and the rest wait on it. */
export function isStuck(tasks: TaskMap): boolean {
  const list = Object.values(tasks)
  return (
    list.some((t) => t.status === 'failed') &&
    !list.some((t) => t.status === 'running' || t.status === 'queued') &&
    !list.some((t) => t.status === 'pending' && t.depends_on.every((d) => tasks[d]?.status === 'completed'))
  )
}

/** A ticket's column on the board, from its tasks. */
export function ticketStatus(tasks: Pick<TaskState, 'status' | 'submissions'>[]): TicketStatus {
  if (tasks.length === 0) return 'backlog'
  if (tasks.every((t) => t.status === 'completed')) return 'done'
  if (tasks.some((t) => t.status === 'failed' || t.status === 'blocked')) return 'blocked'
  // every task has been built and what remains is getting its tests to pass
  if (tasks.every((t) => t.status === 'completed' || (t.status === 'running' && t.submissions > 0))) return 'testing'
  if (tasks.some((t) => t.status === 'running' || t.status === 'completed')) return 'building'
  return 'backlog'
}
