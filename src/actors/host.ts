import { createActor, type Actor } from 'xstate'
import { newUuid } from '../ids.ts'
import { logger } from '../log.ts'
import { transaction, type Sql } from '../db/connect.ts'
import { claimActors, loadActor, releaseLeases, renewLeases } from '../db/actors.ts'
import { appendEvents, eventsAfter, GroupCommit } from '../db/events.ts'
import { findSpec, findSpecs, type SpecRow } from '../db/specs.ts'
import type { NewEvent, SpecEvent as LogRow } from '../schemas/events.ts'
import { SpecBus } from './bus.ts'
import { describeSnapshot, liveSandboxId } from './describe.ts'
import type { ActorInspection, ActorSummary, SpecHostView } from './host-api.ts'
import type { LogEntry, SpecContext, SpecEvent, SpecInput, SpecSettings } from './machine-types.ts'
import { persistTransition } from './persist.ts'
import { SerialQueue } from './serial-queue.ts'
import type { specMachine } from './spec-machine.ts'

const log = logger('omoi:actors')

type Machine = typeof specMachine
type SpecActor = Actor<Machine>

interface Live {
  actor: SpecActor
  queue: SerialQueue
  version: number
  previous: SpecContext | null
  state: string
  startedAt: string
  lastTransitionAt: string
  unsubscribe: () => void
}

export interface HostOptions {
  sql: Sql
  machine: Machine
  nodeId: string
  settings: SpecSettings
  /** One node owns every actor (no cluster): claim all leases at boot. */
  singleNode: boolean
}

/**
 * Owns the live spec actors of this node. Every snapshot change is written (snapshot + the transition's events, one
 * transaction, through a per-actor queue so writes never interleave), then published on the bus. Restores every
 * unfinished actor at boot. A node holds a lease on each spec it runs.
 */
export class SpecHost implements SpecHostView {
  readonly bus = new SpecBus()
  readonly nodeId: string
  private live = new Map<string, Live>()
  private queues = new Map<string, SerialQueue>()
  private readonly groupCommit: GroupCommit
  private leaseTimer: NodeJS.Timeout | undefined
  private stopping = false
  private booted = false

  constructor(private readonly opts: HostOptions) {
    this.nodeId = opts.nodeId
    this.groupCommit = new GroupCommit(
      opts.sql,
      (specId, job) => this.queueFor(specId).push(job),
      (specId, events) => this.bus.publish({ kind: 'events', specId, events }),
    )
  }

  get shuttingDown(): boolean {
    return this.stopping
  }

  /** Every actor this node owns at boot is restored. */
  get ready(): boolean {
    return this.booted
  }

  /** Restores every unfinished actor this node may own, then keeps the leases fresh. */
  async boot(): Promise<number> {
    const rows = await claimActors(this.opts.sql, this.nodeId, this.opts.singleNode)
    const specs = new Map((await findSpecs(this.opts.sql, rows.map((r) => r.spec_id))).map((s) => [s.id, s]))
    for (const row of rows) {
      const spec = specs.get(row.spec_id)
      if (!spec) continue
      try {
        this.attach(spec, row.snapshot, row.version)
      } catch (err) {
        log.error('could not restore actor', { spec_id: row.spec_id, err })
        await this.markFailed(row.spec_id, err)
      }
    }
    this.leaseTimer = setInterval(() => void this.renew(), 10_000)
    this.leaseTimer.unref()
    this.booted = true
    log.info('actors restored', { count: rows.length, node: this.nodeId })
    return rows.length
  }

  private async renew(): Promise<void> {
    try {
      await renewLeases(this.opts.sql, this.nodeId)
      if (!this.opts.singleNode) {
        for (const row of await claimActors(this.opts.sql, this.nodeId, false)) {
          if (this.live.has(row.spec_id)) continue
          const spec = await findSpec(this.opts.sql, row.spec_id)
          if (spec) this.attach(spec, row.snapshot, row.version)
        }
      }
    } catch (err) {
      log.warn('lease renewal failed', { err })
    }
  }

  has(specId: string): boolean {
    return this.live.has(specId)
  }

  /** The actor's current context, for reads that must see what the machine sees (evaluating a submission). */
  context(specId: string): SpecContext | null {
    return this.live.get(specId)?.actor.getSnapshot().context ?? null
  }

  /** Whether the live actor would take this event now (commands answer 409 otherwise). */
  can(specId: string, event: SpecEvent): boolean {
    const live = this.live.get(specId)
    return !!live && live.actor.getSnapshot().can(event)
  }

  stateOf(specId: string): string | null {
    return this.live.get(specId)?.state ?? null
  }

  /** Creates the actor of a draft spec (persisting its first snapshot) if it is not live yet. */
  async ensure(spec: SpecRow): Promise<void> {
    if (this.live.has(spec.id)) return
    const row = await loadActor(this.opts.sql, spec.id)
    if (row?.final) return
    // a new actor's start notifies its first snapshot, which is written like any transition
    this.attach(spec, row?.snapshot, row?.version ?? 0)
    await this.live.get(spec.id)?.queue.idle()
  }

  /** Sends an event and resolves once the transitions it caused are committed (and published). */
  async send(specId: string, event: SpecEvent): Promise<void> {
    const live = this.live.get(specId)
    if (!live) throw new Error(`spec ${specId} has no live actor on this node`)
    live.actor.send(event)
    await live.queue.idle()
  }

  /** Waits until the spec's context satisfies `check`, or the timeout passes (resolves false). */
  async waitFor(specId: string, check: (ctx: SpecContext) => boolean, timeoutMs: number): Promise<boolean> {
    const live = this.live.get(specId)
    if (!live) return false
    if (check(live.actor.getSnapshot().context)) return live.queue.idle().then(() => true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        sub.unsubscribe()
        resolve(false)
      }, timeoutMs)
      const sub = live.actor.subscribe((s) => {
        if (!check(s.context)) return
        clearTimeout(timer)
        sub.unsubscribe()
        void live.queue.idle().then(() => resolve(true))
      })
    })
  }

  /**
   * Appends events that did not come from a transition (agent events, user messages) through the spec's queue, so they
   * get their seqs and reach the room in order with the actor's own.
   */
  appendEvents(specId: string, events: NewEvent[]): Promise<{ written: LogRow[]; duplicates: number }> {
    // appends waiting for the spec's turn are merged into one statement (src/db/events.ts)
    return this.groupCommit.append(specId, events)
  }

  /** Publishes the spec row as it now stands (after usage changed its cost). */
  async publishSpec(specId: string): Promise<void> {
    const spec = await findSpec(this.opts.sql, specId)
    if (spec) this.bus.publish({ kind: 'state', specId, spec })
  }

  listActors(): ActorSummary[] {
    return [...this.live.entries()].map(([specId, l]) => {
      const snap = l.actor.getSnapshot()
      return {
        spec_id: specId,
        state: l.state,
        status: describeSnapshot(snap).status,
        node: this.nodeId,
        sandbox_id: liveSandboxId(snap.context),
        started_at: l.startedAt,
        last_transition_at: l.lastTransitionAt,
      }
    })
  }

  async inspect(specId: string): Promise<ActorInspection | null> {
    const row = await loadActor(this.opts.sql, specId)
    const live = this.live.get(specId)
    if (!row && !live) return null
    const spec = await findSpec(this.opts.sql, specId)
    const recent = spec ? await eventsAfter(this.opts.sql, specId, Math.max(0, spec.last_seq - 20)) : []
    return {
      live_snapshot: live ? live.actor.getPersistedSnapshot() : null,
      persisted_snapshot: row?.snapshot ?? null,
      persisted_version: row?.version ?? null,
      recent_events: recent,
    }
  }

  /** Stops every actor without touching its sandboxes (they keep running and are re-attached by the next boot). */
  async shutdown(): Promise<void> {
    this.stopping = true
    clearInterval(this.leaseTimer)
    await Promise.all([...this.queues.values()].map((q) => q.idle()))
    for (const l of this.live.values()) {
      l.unsubscribe()
      l.actor.stop()
    }
    this.live.clear()
    await releaseLeases(this.opts.sql, this.nodeId).catch(() => {})
  }

  private queueFor(specId: string): SerialQueue {
    let q = this.queues.get(specId)
    if (!q) {
      q = new SerialQueue()
      this.queues.set(specId, q)
    }
    return q
  }

  private attach(spec: SpecRow, snapshot: unknown, version: number): void {
    const input: SpecInput = { specId: spec.id, approval: spec.approval, kind: spec.kind, settings: this.opts.settings }
    const actor = createActor(this.opts.machine, snapshot ? { input, snapshot: snapshot as never } : { input })
    const now = new Date().toISOString()
    const first = actor.getSnapshot()
    const live: Live = {
      actor,
      queue: this.queueFor(spec.id),
      version,
      previous: snapshot ? first.context : null,
      state: describeSnapshot(first).state,
      startedAt: now,
      lastTransitionAt: now,
      unsubscribe: () => {},
    }
    const logs: LogEntry[] = []
    const offLog = actor.on('log', (entry) => logs.push(entry))
    // starting a restored actor notifies its unchanged snapshot: writing it again would cost one write per actor at boot
    let restoredStart = !!snapshot
    const sub = actor.subscribe({
      next: () => {
        if (restoredStart && logs.length === 0) {
          restoredStart = false
          return
        }
        restoredStart = false
        this.enqueuePersist(spec.id, live, logs.splice(0))
      },
      error: (err) => {
        log.error('actor crashed', { spec_id: spec.id, err })
        this.live.delete(spec.id)
        void this.markFailed(spec.id, err)
      },
    })
    live.unsubscribe = () => {
      offLog.unsubscribe()
      sub.unsubscribe()
    }
    this.live.set(spec.id, live)
    actor.start()
  }

  private enqueuePersist(specId: string, live: Live, logs: LogEntry[]): void {
    if (this.stopping && logs.length === 0) return
    const snap = live.actor.getSnapshot()
    const persisted = live.actor.getPersistedSnapshot()
    const context = snap.context
    const from = live.state
    void live.queue.push(async () => {
      live.version++
      try {
        const written = await persistTransition(this.opts.sql, {
          specId,
          version: live.version,
          node: this.nodeId,
          persisted,
          context,
          value: snap.value,
          logs,
          previous: live.previous,
        })
        live.previous = context
        live.state = written.state
        if (written.events.length) this.bus.publish({ kind: 'events', specId, events: written.events })
        this.bus.publish({ kind: 'state', specId, spec: written.spec })
        if (from !== written.state) {
          live.lastTransitionAt = new Date().toISOString()
          const event = logs.at(-1)?.event ?? 'snapshot'
          this.bus.publish({ kind: 'transition', specId, from, to: written.state, event, at: live.lastTransitionAt })
        }
        if (snap.status === 'done') {
          this.live.delete(specId)
          this.queues.delete(specId)
        }
      } catch (err) {
        log.error('could not persist a transition', { spec_id: specId, err })
      }
    })
  }

  /** The actor died: the spec is failed, said in the log (and to the room), and not restored into the same crash. */
  private markFailed(specId: string, err: unknown): Promise<void> {
    return this.queueFor(specId).push(async () => {
      const message = 'the spec stopped on an internal error; it has been logged'
      const written = await transaction(this.opts.sql, async (tx) => {
        const { written } = await appendEvents(tx, specId, [
          { id: newUuid(), type: 'spec.execution_failed', data: { error: message }, source: 'system', sandbox_id: null },
        ])
        await tx`update specs set status = 'failed', updated_at = now() where id = ${specId}`
        await tx`update spec_actors set final = true where spec_id = ${specId}`
        return written
      })
      log.error('spec marked failed', { spec_id: specId, err })
      this.bus.publish({ kind: 'events', specId, events: written })
      await this.publishSpec(specId)
    })
  }
}
