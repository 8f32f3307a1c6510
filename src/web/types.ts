/**
 * The shapes the browser reads from the API (CONTRACT §3–6). Planning outputs, the event row and the presence payload
 * are shared with the server as types only, so nothing server-side ends up in the bundle.
 */
import type { SpecEvent } from '../schemas/events.ts'
import type { Design, Exploration, Requirements, SpecPhase, Tasks } from '../schemas/phase-outputs.ts'
import type { Presence, Viewer } from '../sockets/types.ts'

export type { SpecEvent, SpecPhase, Exploration, Requirements, Design, Tasks, Presence, Viewer }

export type Role = 'user' | 'admin' | (string & {})

export interface User {
  id: string
  email: string
  name: string
  role: Role
}

export interface Project {
  id: string
  name: string
  repo_url?: string | null
  default_branch?: string | null
  owner_id?: string
  role?: string
  check_command?: string | null
  created_at?: string
}

export interface Member {
  user_id: string
  email: string
  name: string
  role: 'owner' | 'editor' | 'viewer'
  created_at: string
}

/** GET /projects/:id/members; `invitations` (emails without an account yet) only for the owner. */
export interface MemberList {
  members: Member[]
  invitations: { email: string; role: 'viewer' | 'editor'; created_at: string }[]
}

export type SpecStatus = 'draft' | 'executing' | 'paused' | 'awaiting_approval' | 'completed' | 'failed' | 'cancelled'

export interface PhaseRecord {
  phase: SpecPhase
  status: string
  attempts: number
  eval_score: number | null
  started_at: string | null
  ended_at: string | null
}

/** Token counts arrive as one number or split by direction; both are shown. */
export type Tokens = number | { input_tokens?: number; output_tokens?: number; input?: number; output?: number; total?: number }

export interface Spec {
  id: string
  project_id: string | null
  user_id: string
  title: string
  description: string
  status: SpecStatus
  current_phase: SpecPhase
  approval: 'auto' | 'manual'
  budget_usd?: number | null
  cost_usd: number
  tokens: Tokens | null
  created_at: string
  updated_at: string
  phases: PhaseRecord[]
  /** The seq of the spec's newest event when this copy was read. */
  last_seq?: number
  /** Who the caller is on this spec (`owner`, `editor`, `viewer`). */
  access?: string
  /** What a completed spec delivered (CONTRACT §4); null or absent until then. */
  delivery?: Delivery | null
  /** Whether the caller may steer this spec; added by the server per caller. */
  can_edit?: boolean
}

export interface Delivery {
  branch: string
  base: string
  commit: string
  check: { command: string; passed: boolean; duration_ms: number } | null
  files_changed: number | string[]
  insertions: number
  deletions: number
  pull_request: { url: string; number: number } | null
}

/** GET /specs/:id/diff (CONTRACT §4). */
export interface SpecDiff {
  files: { path: string; status: string; additions: number; deletions: number }[]
  insertions: number
  deletions: number
}

export interface LaunchResult {
  spec_id: string
  status: 'created' | 'executing'
  current_phase: SpecPhase
  sandbox_id: string | null
  message?: string
}

/** `sync`: the coverage matrix SYNC stored; its exact shape is the server's, shown generically. */
export interface Artifacts {
  exploration: Exploration | null
  requirements: Requirements | null
  design: Design | null
  tasks: Tasks | null
  sync: Record<string, unknown> | null
}

export type TicketStatus = 'backlog' | 'building' | 'testing' | 'done' | 'blocked'
export type TaskStatus = 'pending' | 'queued' | 'running' | 'completed' | 'failed' | 'blocked'

export interface Task {
  id: string
  title: string
  status: TaskStatus
  description?: string
  branch?: string | null
  depends_on?: string[]
  /** The planner's id (`TSK-001`), under whichever name the server uses. */
  plan_id?: string
  key?: string
  ref?: string
  external_id?: string
}

export interface Ticket {
  id: string
  title: string
  status: TicketStatus
  description?: string
  priority?: string
  project_id?: string | null
  spec_id?: string | null
  spec_title?: string | null
  spec?: { id: string; title: string } | null
  tasks?: Task[]
  task_progress?: { completed: number; total: number }
  tasks_completed?: number
  tasks_total?: number
  branches?: string[]
  plan_id?: string
  key?: string
  ref?: string
  external_id?: string
}

export interface Board {
  columns: { status: TicketStatus; tickets: Ticket[] }[]
}


export type CommandName = 'approve' | 'revise' | 'pause' | 'resume' | 'cancel' | 'retry' | 'message'

export interface SocketError {
  code: string
  message: string
}

export type Ack<T = Record<string, unknown>> = ({ ok: true } & T) | { ok: false; error: SocketError }

export interface JoinAck {
  spec: Spec
  events: SpecEvent[]
  viewers: Viewer[]
}

export interface ActorRow {
  spec_id: string
  state: unknown
  status: string
  node: string | null
  sandbox_id: string | null
  started_at: string | null
  last_transition_at: string | null
}

export interface ActorTransition {
  spec_id: string
  from: unknown
  to: unknown
  event: unknown
  at: string
}
