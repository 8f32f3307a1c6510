import type { AgentPhase, PhaseOutputs, TaskPlan, TicketPlan, Requirement } from './phase-outputs.ts'
import type { TaskReport } from './task-report.ts'

/** A tool as offered to the model (Anthropic Messages API `tools` entry). */
export interface ToolDefinition {
  name: string
  description: string
  input_schema: { type: 'object'; properties?: Record<string, unknown>; required?: string[]; [k: string]: unknown }
}

export interface AssignmentSpec {
  id: string
  title: string
  description: string
}

/** GET /sandboxes/:id/assignment — everything the worker needs, nothing of the server's secrets. */
export interface PhaseAssignment {
  kind: 'phase'
  sandbox_id: string
  spec: AssignmentSpec
  phase: AgentPhase
  attempt: number
  /** Submissions already used in this phase attempt (a replaced sandbox continues the count). */
  submissions_used: number
  max_submissions: number
  context: {
    prior: Partial<PhaseOutputs>
    /** Feedback from a person (revise) or from the evaluator's last rejection. */
    feedback: string[]
  }
  tools: ToolDefinition[]
  submit_tool: string
  /** ISO time after which the worker gives up. */
  deadline: string
  model: string
  /** The model's context window and output limit in tokens (absent from an older server: the worker assumes the smallest). */
  model_limits?: { context_window: number; max_output: number }
}

export interface TaskAssignment {
  kind: 'task'
  sandbox_id: string
  spec: AssignmentSpec
  /**
   * `branch`: where the work is pushed; `base_branch`: the branch the workspace was made from (the spec branch, or for a
   * merge fix-up the merge branch); `check_command`: what the worker runs when the task completes (null: none).
   */
  task: TaskPlan & { branch: string; base_branches: string[]; base_branch: string; check_command: string | null }
  attempt: number
  submissions_used: number
  max_submissions: number
  context: {
    ticket: TicketPlan
    requirements: Requirement[]
    design: PhaseOutputs['design'] | null
    dependencies: { id: string; title: string; result: TaskReport | null }[]
    feedback: string[]
  }
  tools: ToolDefinition[]
  submit_tool: 'complete_task'
  deadline: string
  model: string
  /** The model's context window and output limit in tokens (absent from an older server: the worker assumes the smallest). */
  model_limits?: { context_window: number; max_output: number }
}

export type Assignment = PhaseAssignment | TaskAssignment
