import type { Namespace, Server, Socket } from 'socket.io'
import type { ActorInspection, ActorSummary, CommandInput } from '../actors/host-api.ts'
import type { RoutedAnswer, RoutedCall } from '../actors/router.ts'
import type { PublicUser } from '../db/users.ts'
import type { ErrorCode } from '../errors.ts'
import type { SpecEvent } from '../schemas/events.ts'
import type { PresentedSpec } from '../schemas/present.ts'

/** The Socket.IO surface of CONTRACT §6, as typed event maps threaded through every emit, handler and ack. */

/** Why a request was refused: a CONTRACT §2 code and a sentence a person can act on. */
export interface SocketError {
  code: ErrorCode
  message: string
  fields?: Record<string, string[]>
}
export interface Refusal {
  ok: false
  error: SocketError
  /** When asking again may succeed, in seconds (REST's Retry-After): a keyed command still being served. */
  retry_after_s?: number
}

export interface Viewer {
  user_id: string
  name: string
}
/** The whole list: what a socket that joined without `batch` is sent whenever the people watching change. */
export interface Presence {
  spec_id: string
  viewers: Viewer[]
}
/**
 * What changed since the last presence message (sockets that joined with `batch: true`), coalesced per tick. Applied to
 * the join answer's `viewers` as a set (add `joined`, remove `left`, by user_id); `count` is the number of people after.
 */
export interface PresenceDelta {
  spec_id: string
  joined: Viewer[]
  left: Viewer[]
  count: number
}

/** Payloads as a client sends them; the server validates each on arrival (src/schemas/api.ts). */
export interface JoinPayload {
  spec_id: string
  after_seq?: number
  /** Live events as `spec:events` arrays and presence as deltas. */
  batch?: boolean
  /** false: follow without being listed as watching. */
  presence?: boolean
}
export interface LeavePayload {
  spec_id: string
}
/** `idempotency_key`: a retry with it gets the first answer again, marked `replayed: true` (README, Idempotency keys). */
export type CommandPayload = { spec_id: string; idempotency_key?: string } & CommandInput

export type JoinAnswer = { ok: true; spec: PresentedSpec; events: SpecEvent[]; viewers: Viewer[] } | Refusal
export type LeaveAnswer = { ok: true } | Refusal
/** `{ok: true}` plus the body the REST call answers; `replayed` when it is a keyed command's stored answer. */
export type CommandAnswer = (({ ok: true } & Record<string, unknown>) | Refusal) & { replayed?: true }

/** Namespace `/`: what clients emit, each with an ack. */
export interface ClientToServerEvents {
  'spec:join': (payload: JoinPayload, ack: (answer: JoinAnswer) => void) => void
  'spec:leave': (payload: LeavePayload, ack: (answer: LeaveAnswer) => void) => void
  'spec:command': (payload: CommandPayload, ack: (answer: CommandAnswer) => void) => void
}

/** Namespace `/`: what the server emits to the viewers of room `spec:<id>`. */
export interface ServerToClientEvents {
  /** One event, to sockets that joined without `batch`. */
  'spec:event': (event: SpecEvent) => void
  /** Events in seq order (at most one frame per tick), to sockets that joined with `batch: true`. */
  'spec:events': (events: SpecEvent[]) => void
  'spec:state': (spec: PresentedSpec) => void
  /** The whole list without `batch`; a delta with it. */
  'spec:presence': (presence: Presence | PresenceDelta) => void
}

/**
 * Between nodes (OMOI_CLUSTER=postgres). Each node relays what its own bus publishes; the others deliver it to their
 * local viewers, each of which is kept in seq order (src/sockets/feed.ts).
 */
export interface InterServerEvents {
  'relay:events': (specId: string, events: SpecEvent[]) => void
  'relay:state': (specId: string, spec: PresentedSpec) => void
  /** Someone joined or left the spec's room on the sending node: every node tells its own sockets. */
  'relay:presence': (specId: string) => void
  'relay:actors': (ack: (actors: ActorSummary[]) => void) => void
  /** A spec request for the node `to`, which answers through the ack; every other node acks null. */
  'route:call': (to: string, call: RoutedCall, ack: (answer: RoutedAnswer | null) => void) => void
  /**
   * A session was revoked (logout): every node cuts the sockets opened with it, then acks with its id. `confirmed`: the
   * nodes that did already (the relay sent again for the others, confirmed-relay.ts); they only ack.
   */
  'session:revoked': (sessionHash: string, confirmed: readonly string[], done: (nodeId: string) => void) => void
  /** A member lost access to these specs: every node takes their sockets out of the rooms (revoke.ts); acked as above. */
  'access:revoked': (specIds: readonly string[], userId: string, confirmed: readonly string[], done: (nodeId: string) => void) => void
}

export interface SocketData {
  user: PublicUser
  /** SHA-256 of the session token the socket was opened with: a logout of that session cuts it. */
  session: string
  /** Specs this socket follows without being listed in their presence (joined with `presence: false`). */
  unlisted: string[]
}

export interface ActorTransition {
  spec_id: string
  from: string
  to: string
  event: string
  at: string
}

/** Namespace `/admin`. `actors:list` and `actors:watch` may come with the ack alone (the web app sends no payload). */
export interface AdminClientToServerEvents {
  'actors:list': (ack: (actors: ActorSummary[]) => void) => void
  'actor:inspect': (payload: { spec_id: string }, ack: (answer: ActorInspection | Refusal) => void) => void
  'actors:watch': (ack: (answer: { ok: true }) => void) => void
}
export interface AdminServerToClientEvents {
  'actor:transition': (transition: ActorTransition) => void
}

export type SpecServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>
export type SpecNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>
export type SpecSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>
export type AdminNamespace = Namespace<AdminClientToServerEvents, AdminServerToClientEvents, InterServerEvents, SocketData>
export type AdminSocket = Socket<AdminClientToServerEvents, AdminServerToClientEvents, InterServerEvents, SocketData>

/** The answer type of a client event: what its ack (the last parameter) is called with. */
export type AnswerOf<F> = F extends (...args: infer P) => void ? (P extends [...unknown[], (answer: infer A) => void] ? A : never) : never
