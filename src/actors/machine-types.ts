import type { SystemEventType } from '../schemas/events.ts'
import type { AgentPhase, PhaseOutputs, Requirements, Tasks } from '../schemas/phase-outputs.ts'
import type { CheckResult } from '../schemas/task-report.ts'
import type { TaskMap } from './scheduler.ts'

/** The spec actor's context and events. Context is plain JSON: it is persisted as it is. */

export type PlannedPhase = AgentPhase | 'sync' | 'execute'
export const PLANNED_PHASES: PlannedPhase[] = ['explore', 'requirements', 'design', 'tasks', 'sync', 'execute']

export interface PhaseState {
  status: 'pending' | 'running' | 'awaiting_approval' | 'completed' | 'failed'
  /** 1-based; a revision or a retry starts a new attempt. */
  attempt: number
  /** Submissions evaluated in this attempt (3 at most). */
  submissions: number
  /** Result ids already counted: a retried callback is not counted twice. */
  submissionIds: string[]
  /** How often this attempt's sandbox was replaced (2 at most). */
  generation: number
  eval_score: number | null
  started_at: string | null
  ended_at: string | null
  /** When this attempt must be done by: a timestamp, so it survives a restart. */
  deadline: string | null
  sandboxId: string | null
}

export interface SpecSettings {
  silenceMs: number
  phaseTimeoutMs: number
  taskConcurrency: number
}

export interface SpecContext {
  specId: string
  approval: 'auto' | 'manual'
  kind: 'spec' | 'quick'
  currentPhase: PlannedPhase | 'done'
  phases: Record<PlannedPhase, PhaseState>
  outputs: Partial<PhaseOutputs>
  /** Bumped when a phase's output is accepted: the host writes the artifact then. */
  outputVersions: Partial<Record<AgentPhase, number>>
  /** Feedback for the next attempt of a phase: a person's revision or the reason of the last failure. */
  feedback: Partial<Record<AgentPhase, string[]>>
  tasks: TaskMap
  failure: { phase: string; error: string } | null
  settings: SpecSettings
  /** The spec branch and what it delivered; set when execution starts (absent in contexts from before issue 17). */
  delivery?: DeliveryState | null
}

/** One spec branch that gathers every task's work (DESIGN §2.5). */
export interface DeliveryState {
  /** `omoi/<spec short id>/spec` */
  branch: string
  /** The project's default branch it was made from, and that branch's commit then. */
  base: string
  baseCommit: string
  /** The spec branch's head as last merged. */
  commit: string
  /** The project's check command, or the one EXPLORE found; null: none. */
  checkCommand: string | null
  /** Accepted tasks waiting to be merged, in the order they were accepted; the first is being merged. */
  mergeQueue: string[]
  integrated: IntegrateOutput | null
  pullRequest: { url: string; number: number } | null
  /** The task merged last: a failing integrated check is handed to a fix-up run of it. */
  lastMerged?: string | null
  /** Fix-up runs a failing integrated check got so far. */
  integrationFixups?: number
}

export interface SpecInput {
  specId: string
  approval: 'auto' | 'manual'
  kind: 'spec' | 'quick'
  settings: SpecSettings
}

export interface Verdict {
  accepted: boolean
  score: number
  feedback: string
}

export interface QuickTask {
  key: string
  ticket: string
  title: string
}

/** Where an event about a sandbox belongs: a phase attempt or a task attempt. */
export type RunnerTarget = { phase: AgentPhase; attempt: number; generation: number } | { task: string; attempt: number; generation: number }

export type SpecEvent =
  | { type: 'LAUNCH'; by: string; quickTasks?: QuickTask[] }
  | { type: 'SUBMISSION'; phase: AgentPhase; attempt: number; resultId: string; verdict: Verdict; output: unknown }
  | { type: 'AGENT_FAILED'; phase: AgentPhase; attempt: number; error: string }
  | { type: 'TASK_SUBMISSION'; task: string; attempt: number; resultId: string; verdict: Verdict; output: unknown }
  | { type: 'TASK_AGENT_FAILED'; task: string; attempt: number; error: string }
  | { type: 'TASK_MERGED'; task: string; attempt: number; fixup: number; commit: string }
  | { type: 'TASK_MERGE_CONFLICT'; task: string; attempt: number; fixup: number; files: string[]; mergeBranch: string }
  | { type: 'TASK_MERGE_ERROR'; task: string; attempt: number; fixup: number; error: string }
  | ({ type: 'SANDBOX_STARTED'; sandboxId: string } & RunnerTarget)
  | ({ type: 'SANDBOX_LOST'; reason: string } & RunnerTarget)
  | ({ type: 'SANDBOX_ERROR'; error: string } & RunnerTarget)
  | ({ type: 'DEADLINE' } & RunnerTarget)
  | { type: 'APPROVE'; phase: string; by: string }
  | { type: 'REVISE'; phase: string; feedback: string; by: string }
  | { type: 'PAUSE'; by: string }
  | { type: 'RESUME'; by: string }
  | { type: 'CANCEL'; by: string }
  | { type: 'RETRY'; by: string; task?: string }
  | { type: 'BUDGET_EXCEEDED'; cost_usd: number; budget_usd: number }

/** What a transition says happened: the host writes these to the event log with the snapshot. */
export interface LogEntry {
  type: 'log'
  event: SystemEventType
  data: Record<string, unknown>
  sandboxId?: string | null
}

/** The input of the sandbox runner (a phase attempt or a task attempt). */
export type RunnerInput = {
  specId: string
  /** Tasks: the branch the workspace starts from (the spec branch, or for a merge fix-up the merge branch). */
  baseBranch?: string
  /** Tasks: 0 for the task's own work, n for its n-th merge fix-up run. */
  fixup?: number
  attempt: number
  generation: number
  deadline: string
  silenceMs: number
} & ({ kind: 'phase'; phase: AgentPhase } | { kind: 'task'; task: string })

export interface SyncInput {
  specId: string
  /** The accepted outputs, from the context: the transition that accepted them may not be committed yet. */
  requirements: Requirements | undefined
  tasks: Tasks | undefined
}

export interface SyncOutput {
  tickets: number
  tasks: { key: string; ticket: string; title: string; depends_on: string[] }[]
}

/** Creates the spec branch (once) at the start of execution. */
export interface PrepareInput {
  specId: string
  /** The check command EXPLORE found, used when the project names none. */
  exploredCheck: string | null
}

/** Merges one accepted task's commit into the spec branch; keyed by (task, attempt, fixup). */
export interface MergeInput {
  specId: string
  task: string
  title: string
  attempt: number
  fixup: number
  commit: string
  specBranch: string
}

/** Runs the check on the spec branch once every task is merged. */
export interface IntegrateInput {
  specId: string
  branch: string
  checkCommand: string | null
  /** 1 for the first check, one more per fix-up run (absent from inputs persisted before it existed: 1). */
  round?: number
}

/** The spec branch's head that was checked, the check's result (null: no check command) and its sandbox. */
export interface IntegrateOutput {
  commit: string
  check: CheckResult | null
  /** The check sandbox that ran it (absent from results stored before checks ran in sandboxes). */
  sandboxId?: string | null
}

/** What a finished spec delivers beyond its branch: the pull request, when a forge is configured. */
export interface PublishOutput {
  pullRequest: { url: string; number: number } | null
}
