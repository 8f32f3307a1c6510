import type { SpecEvent } from '../schemas/events.ts'
import type { SpecBus } from './bus.ts'

/** One live actor as the admin namespace lists it (CONTRACT §6). */
export interface ActorSummary {
  spec_id: string
  state: string
  status: string
  node: string
  sandbox_id: string | null
  started_at: string
  last_transition_at: string
}

export interface ActorInspection {
  live_snapshot: unknown
  persisted_snapshot: unknown
  persisted_version: number | null
  recent_events: SpecEvent[]
}

/** What the sockets layer may use of the actor host. */
export interface SpecHostView {
  readonly bus: SpecBus
  readonly nodeId: string
  listActors(): ActorSummary[]
  /** null when the spec has neither a live actor nor a persisted one. */
  inspect(specId: string): Promise<ActorInspection | null>
}

/** A command from REST or a socket (CONTRACT §4, §6). */
export interface CommandInput {
  command: 'approve' | 'revise' | 'pause' | 'resume' | 'cancel' | 'retry' | 'message'
  phase?: string
  feedback?: string
  text?: string
  task_id?: string
}
