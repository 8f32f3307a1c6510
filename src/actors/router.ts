import { setTimeout as delay } from 'node:timers/promises'
import { AppError, type ErrorCode } from '../errors.ts'
import { newUuid } from '../ids.ts'
import { liveOwner } from '../db/actors.ts'
import type { Sql } from '../db/connect.ts'
import type { PublicUser } from '../db/users.ts'
import type { IngestEvents, SandboxResult } from '../schemas/events.ts'
import type { CommandKey } from './command-keys.ts'
import type { CommandInput } from './host-api.ts'
import { NotOwnerError, type SpecHost } from './host.ts'

/** A request that only the node running the spec's actor may serve (DESIGN §4, routing). Plain JSON. */
export type RoutedCall = RoutedRequest & {
  /** The same for every try of one request: the owner serves it once and answers retries from memory. */
  id?: string
}

type RoutedRequest =
  /** `key`: the command's idempotency key, for the node that applies it to store the answer under (command-keys.ts). */
  | { kind: 'command'; specId: string; user: PublicUser; input: CommandInput; key?: CommandKey }
  | { kind: 'assignment'; specId: string; sandboxId: string }
  | { kind: 'ingest'; specId: string; sandboxId: string; body: IngestEvents }
  | { kind: 'result'; specId: string; sandboxId: string; body: SandboxResult }
  | { kind: 'budget'; specId: string; cost_usd: number; budget_usd: number }

/** The owner's answer, as it crosses the wire: the value, or the AppError it threw. */
export type RoutedAnswer =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: ErrorCode; message: string; fields?: Record<string, string[]> } }

/**
 * How a call reaches another node: the Socket.IO PostgreSQL adapter's server-side emit with acknowledgements
 * (src/sockets/owner-link.ts). Resolves null when that node did not answer in time (dead or paused).
 */
export interface OwnerLink {
  call(node: string, call: RoutedCall): Promise<RoutedAnswer | null>
}

/** How long a request waits for a silent owner's lease to run out before it answers 503 (the caller retries). */
export const ROUTE_DEADLINE_MS = 20_000

/** How long the owner remembers an answer for a retry of the same call (a lost or late acknowledgement). */
const ANSWER_MEMORY_MS = 120_000

const unavailable = () => new AppError('unavailable', 'The spec is moving between servers; retry shortly.')

/**
 * Runs each spec request on the node that owns the spec: here when this node runs its actor (or may claim it — no live
 * owner), else on the owner through the link, answering with the owner's answer (or its error). A silent owner is waited
 * out until its lease expires, then this node claims the spec. Without a link (one node) everything runs here.
 */
export class SpecRouter {
  private link: OwnerLink | null = null
  private serve: ((call: RoutedCall) => Promise<unknown>) | null = null
  private answers = new Map<string, Promise<RoutedAnswer>>()

  constructor(
    private readonly sql: Sql,
    private readonly host: SpecHost,
  ) {}

  /** Clustered: how to reach the other nodes. */
  connect(link: OwnerLink): void {
    this.link = link
  }

  /** What serves a call on this node (the command and sandbox APIs register it). */
  handle(serve: (call: RoutedCall) => Promise<unknown>): void {
    this.serve = serve
  }

  /**
   * Runs `local` here when this node owns (or can claim) the spec, else forwards `call` to the owner. `local` must make
   * the actor live through `host.ensure` (which throws NotOwnerError when another node got it first).
   */
  async run<T>(request: RoutedCall, local: () => Promise<T>): Promise<T> {
    const call = { ...request, id: newUuid() }
    const deadline = Date.now() + ROUTE_DEADLINE_MS
    for (;;) {
      // one node (no link) owns everything: no need to ask the database who does
      const owner = !this.link || this.host.has(call.specId) ? this.host.nodeId : await liveOwner(this.sql, call.specId)
      if (!owner || owner === this.host.nodeId || !this.link) {
        try {
          return await local()
        } catch (err) {
          // another node claimed it a moment ago, or this copy was stale: forward to the owner
          if (!(err instanceof NotOwnerError)) throw err
          if (Date.now() > deadline) throw unavailable()
          continue
        }
      }
      const answer = await this.link.call(owner, call)
      if (answer) {
        if (answer.ok) return answer.value as T
        throw new AppError(answer.error.code, answer.error.message, answer.error.fields)
      }
      if (Date.now() > deadline) throw unavailable()
      await delay(250) // the owner is silent: its lease runs out soon, then this node claims the spec
    }
  }

  /**
   * Serves a call another node forwarded here, once: a retry of the same call (its acknowledgement was late or lost)
   * gets the same answer, so a command is never applied twice. Never forwards again: a spec that moved on answers 503.
   */
  receive(call: RoutedCall): Promise<RoutedAnswer> {
    if (!call.id) return this.serveOnce(call)
    let answer = this.answers.get(call.id)
    if (!answer) {
      answer = this.serveOnce(call)
      this.answers.set(call.id, answer)
      setTimeout(() => this.answers.delete(call.id!), ANSWER_MEMORY_MS).unref()
    }
    return answer
  }

  private async serveOnce(call: RoutedCall): Promise<RoutedAnswer> {
    try {
      if (!this.serve) throw unavailable()
      return { ok: true, value: await this.serve(call) }
    } catch (err) {
      if (err instanceof AppError) return { ok: false, error: err.toJSON() }
      if (err instanceof NotOwnerError) return { ok: false, error: unavailable().toJSON() }
      throw err
    }
  }
}
