import * as v from 'valibot'

/** Event types written by the server (CONTRACT §5). */
export const SYSTEM_EVENT_TYPES = [
  'spec.execution_started',
  'spec.phase_started',
  'spec.phase_completed',
  'spec.phase_retry',
  'spec.phase_failed',
  'spec.awaiting_approval',
  'spec.approved',
  'spec.revision_requested',
  'spec.paused',
  'spec.resumed',
  'spec.cancelled',
  'spec.retried',
  'spec.tasks_queued',
  'spec.task_started',
  'spec.task_completed',
  'spec.task_failed',
  'spec.task_blocked',
  'spec.sandbox_replaced',
  'spec.budget_exceeded',
  'spec.execution_completed',
  'spec.execution_failed',
  'spec.integrated',
  'spec.pull_request_opened',
  'spec.merge_conflict',
] as const

/** Event types a sandbox worker may send (CONTRACT §5). */
export const AGENT_EVENT_TYPES = [
  'agent.started',
  'agent.heartbeat',
  'agent.message',
  'agent.tool_use',
  'agent.tool_result',
  'agent.message_injected',
  'agent.usage',
  'agent.error',
  'agent.waiting',
  'agent.completed',
] as const

export type SystemEventType = (typeof SYSTEM_EVENT_TYPES)[number]
export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number]
export type EventSource = 'system' | 'agent' | 'user'

/** One row of the event log, as REST and sockets show it. */
export interface SpecEvent {
  seq: number
  id: string
  spec_id: string
  sandbox_id: string | null
  type: string
  data: Record<string, unknown>
  source: EventSource
  created_at: string
}

/** An event before it has a place in the log: what producers hand to the writer. */
export interface NewEvent {
  id: string
  type: string
  data: Record<string, unknown>
  source: EventSource
  sandbox_id?: string | null
}

const uuid = v.pipe(v.string('must be a string (a UUID)'), v.uuid('must be a UUID'))
const data = v.optional(v.record(v.string(), v.unknown(), 'must be a JSON object'), {})

export const AgentEventSchema = v.object({
  id: uuid,
  type: v.picklist(AGENT_EVENT_TYPES, 'must be one of the agent.* event types'),
  data,
}, 'must be an object {id, type, data}')
export type AgentEvent = v.InferOutput<typeof AgentEventSchema>

/** POST /sandboxes/:id/events */
export const IngestEventsSchema = v.object({
  events: v.pipe(v.array(AgentEventSchema, 'events must be an array'), v.minLength(1, 'send at least one event'), v.maxLength(100, 'send at most 100 events per call')),
})
export type IngestEvents = v.InferOutput<typeof IngestEventsSchema>

const tokenCount = v.pipe(v.number('must be a number'), v.integer('must be a whole number'), v.minValue(0, 'must not be negative'))
export const UsageSchema = v.object({ input_tokens: tokenCount, output_tokens: tokenCount }, 'usage must be an object {input_tokens, output_tokens}')
export type Usage = v.InferOutput<typeof UsageSchema>

/** POST /sandboxes/:id/result */
export const ResultSchema = v.object({
  id: uuid,
  outcome: v.picklist(['submitted', 'failed'], 'outcome must be "submitted" or "failed"'),
  output: v.optional(v.unknown()),
  error: v.optional(v.string('error must be a string')),
  usage: v.optional(UsageSchema, { input_tokens: 0, output_tokens: 0 }),
})
export type SandboxResult = v.InferOutput<typeof ResultSchema>

/** The server's verdict on a result: what the worker feeds back to the model. */
export interface ResultVerdict {
  accepted: boolean
  score: number
  feedback: string
  attempt: number
  /** true when the worker should stop: accepted, attempts used up, or the sandbox was stopped. */
  done: boolean
}

/** GET /sandboxes/:id/messages */
export interface InjectedMessage {
  seq: number
  text: string
  by: string
  created_at: string
}
