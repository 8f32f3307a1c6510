import type { SandboxRow } from '../db/sandboxes.ts'
import type { SpecStatus } from '../db/specs.ts'
import type { SpecContext } from './machine-types.ts'

/** The parts of a sandbox row that decide whether its events are taken. */
export type EventSource = Pick<SandboxRow, 'status' | 'kind' | 'phase' | 'task_id'>

/** A paused or cancelled spec stopped its sandboxes: what they post afterwards is not part of its story. */
export const STOPPED_STATUSES: readonly SpecStatus[] = ['paused', 'cancelled']

/**
 * Whether a sandbox's agent events still go into its spec's log (pure). Refused once the spec is paused or cancelled,
 * and once the sandbox has ended while its phase or task attempt is still running (it was stopped from outside or
 * replaced). An ended sandbox whose work concluded (its submission accepted, the agent failed) still posts its last
 * events: the submission's tool result, `agent.completed`.
 */
export function takesAgentEvents(status: SpecStatus, ctx: SpecContext, sandbox: EventSource): boolean {
  if (STOPPED_STATUSES.includes(status)) return false
  if (sandbox.status !== 'ended') return true
  if (sandbox.kind === 'phase') return ctx.phases[sandbox.phase as keyof SpecContext['phases']]?.status !== 'running'
  if (sandbox.kind === 'task') return ctx.tasks[sandbox.task_id!]?.status !== 'running'
  return true
}
