import * as v from 'valibot'

/**
 * The inputs of the submit tools (CONTRACT §8). These schemas describe the shape only; how good a submission is
 * (and the hard rules across fields) is the evaluators' job in src/actors/evaluators.ts.
 */

const text = v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty'))
const textList = v.array(text)

export const ExplorationSchema = v.object({
  summary: text,
  tech_stack: textList,
  key_files: v.array(v.object({ path: text, purpose: text })),
  conventions: textList,
  open_questions: textList,
  scope_in: textList,
  scope_out: textList,
  /** The command that checks the work, as the agent found it (`npm test`); used when the project names none. */
  check_command: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(2000))),
})
export type Exploration = v.InferOutput<typeof ExplorationSchema>

export const RequirementSchema = v.object({
  id: v.pipe(v.string(), v.regex(/^REQ-\d{3,}$/, 'must look like REQ-001')),
  title: text,
  ears: text,
  priority: v.picklist(['must', 'should', 'could']),
  acceptance_criteria: textList,
})
export type Requirement = v.InferOutput<typeof RequirementSchema>

export const RequirementsSchema = v.object({ requirements: v.array(RequirementSchema) })
export type Requirements = v.InferOutput<typeof RequirementsSchema>

export const DesignSchema = v.object({
  overview: text,
  components: v.array(v.object({ name: text, responsibility: text, files: textList })),
  data_models: v.array(v.object({ name: text, fields: textList })),
  api: v.array(v.object({ method: text, path: text, description: text })),
  risks: textList,
  testing_strategy: text,
})
export type Design = v.InferOutput<typeof DesignSchema>

/**
 * A reference from a ticket or task to what it implements: a whole requirement (`REQ-001`) or one of its acceptance
 * criteria (`REQ-001.2`, the second criterion, counted from 1).
 */
export const RequirementRefSchema = v.pipe(
  v.string(),
  v.regex(/^REQ-\d{3,}(?:\.[1-9]\d*)?$/, 'must look like REQ-001 (a requirement) or REQ-001.2 (its second acceptance criterion)'),
  v.description('A requirement (REQ-001) or one of its acceptance criteria (REQ-001.2, counted from 1).'),
)

export const TicketPlanSchema = v.object({
  id: v.pipe(v.string(), v.regex(/^TKT-\d{3,}$/, 'must look like TKT-001')),
  title: text,
  description: text,
  priority: v.picklist(['critical', 'high', 'medium', 'low']),
  requirements: v.array(RequirementRefSchema),
})
export type TicketPlan = v.InferOutput<typeof TicketPlanSchema>

export const TaskPlanSchema = v.object({
  id: v.pipe(v.string(), v.regex(/^TSK-\d{3,}$/, 'must look like TSK-001')),
  ticket: v.string(),
  title: text,
  description: text,
  depends_on: v.array(v.string()),
  requirements: v.array(RequirementRefSchema),
  files: textList,
  estimate_hours: v.pipe(v.number(), v.minValue(0)),
})
export type TaskPlan = v.InferOutput<typeof TaskPlanSchema>

export const TasksSchema = v.object({ tickets: v.array(TicketPlanSchema), tasks: v.array(TaskPlanSchema) })
export type Tasks = v.InferOutput<typeof TasksSchema>

/** What the model gives when it finishes a task; the worker adds what really happened (src/schemas/task-report.ts). */
export const CompleteTaskSchema = v.object({
  summary: text,
  /** Why the task needs no change to the code; required when nothing changed. */
  no_change_reason: v.optional(v.pipe(v.string(), v.trim())),
})
export type CompleteTask = v.InferOutput<typeof CompleteTaskSchema>

/** The planning phases done by an agent, in order. */
export const AGENT_PHASES = ['explore', 'requirements', 'design', 'tasks'] as const
export type AgentPhase = (typeof AGENT_PHASES)[number]

/** Every value of a spec's `current_phase`. */
export const SPEC_PHASES = ['explore', 'requirements', 'design', 'tasks', 'sync', 'execute', 'done'] as const
export type SpecPhase = (typeof SPEC_PHASES)[number]

/** Phases after which a spec in `manual` approval mode waits for a person. */
export const APPROVAL_PHASES = ['requirements', 'design', 'tasks'] as const satisfies readonly AgentPhase[]

export const PHASE_OUTPUT_SCHEMAS = {
  explore: ExplorationSchema,
  requirements: RequirementsSchema,
  design: DesignSchema,
  tasks: TasksSchema,
} as const

export type PhaseOutputs = {
  explore: Exploration
  requirements: Requirements
  design: Design
  tasks: Tasks
}

/** The submit tool each phase offers, and the one a task offers. */
export const SUBMIT_TOOLS = {
  explore: 'submit_exploration',
  requirements: 'submit_requirements',
  design: 'submit_design',
  tasks: 'submit_tasks',
  task: 'complete_task',
} as const
export type SubmitToolName = (typeof SUBMIT_TOOLS)[keyof typeof SUBMIT_TOOLS]
