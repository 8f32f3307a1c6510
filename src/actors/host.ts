import { createActor, type Actor } from 'xstate'
import { AppError } from '../errors.ts'
import { newUuid } from '../ids.ts'
import { logger } from '../log.ts'
import { transaction, type Sql } from '../db/connect.ts'
import { assertFence, claimActor, claimActors, FencedError, holdsClaim, loadActor, type Fence, releaseLeases, renewLeases, RENEW_MS } from '../db/actors.ts'
import { appendEvents, eventsAfter, GroupCommit, type AppendResult } from '../db/events.ts'
import { reportUndelivered } from '../db/messages.ts'
import { endUnfinishedPhases, findSpec, findSpecs, type PhaseSummary, type SpecRow } from '../db/specs.ts'
import { cancelUnfinishedWork } from '../db/tickets.ts'
import type { NewEvent, SpecEvent as LogRow } from '../schemas/events.ts'
import { SpecBus } from './bus.ts'
import { describeSnapshot, liveSandboxId } from './describe.ts'
import type { ActorInspection, ActorSummary, SpecHostView } from './host-api.ts'
import type { LogEntry, SpecContext, SpecEvent, SpecInput, SpecSettings } from './machine-types.ts'
import { persistTransition, type AlongsideWrite } from './persist.ts'
import { migrateSnapshot } from './snapshot-migration.ts'
import { SerialQueue } from './serial-queue.ts'
import { retryTransient } from '../db/transient.ts'
import { writeUntilStored } from './write-retry.ts'
import type { specMachine } from './spec-machine.ts'

const log = logger('omoi:actors')

type Machine = typeof specMachine
type SpecActor = Actor<Machine>

interface Live {
  actor: SpecActor
  queue: SerialQueue
  version: number
  /** The epoch of this node's lease on the spec: every write carries it (fencing, DESIGN §4). */
  epoch: number
  /** Stopped because another node took the spec over. */
  dropped: boolean
  previous: SpecContext | null
  state: string
  startedAt: string
  lastTransitionAt: string
  unsubscribe: () => void
  /** A write of this actor was refused for good: it was stopped and takes nothing more. */
  stopped: boolean
  /** Set only while `sendWith` hands the actor its event: the write that event's transition carries. */
  rider: Rider | undefined
}

/** A write to commit with the transition of one event (`sendWith`), and what it resolved once that is committed. */
interface Rider {
  write: AlongsideWrite<unknown>
  stored?: { value: unknown }
}

export interface HostOptions {
  sql: Sql
  machine: Machine
  nodeId: string
  settings: SpecSettings
  /** One node owns every actor (no cluster): claim all leases at boot. */
  singleNode: boolean
}

/** Another node holds a live lease on the spec: hand the request to it (never attach a second copy here). */
export class NotOwnerError extends Error {
  constructor(
    readonly specId: string,
    readonly owner: string,
  ) {
    super(`spec ${specId} runs on node ${owner}`)
    this.name = 'NotOwnerError'
  }
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
  /** Specs whose stale copy is being stopped right now: their runners leave the sandboxes to the new owner. */
  private readonly dropping = new Set<string>()
  /** Aborted at shutdown: writes waiting for the database give up (the next boot restores what was stored). */
  private readonly halt = new AbortController()
  /**
   * Settles once boot() has claimed and restored this node's actors. A request that needs a spec live (a sandbox calling
   * back as soon as the server listens) waits for it: attached earlier, its copy would be claimed again by boot (a
   * second copy with a new epoch, the first one fenced out with the sandboxes it had).
   */
  private readonly restored: Promise<void>
  private markRestored: () => void = () => {}

  constructor(private readonly opts: HostOptions) {
    this.nodeId = opts.nodeId
    this.restored = new Promise((resolve) => (this.markRestored = resolve))
    this.groupCommit = new GroupCommit(
      (specId, events) => this.appendFenced(specId, events),
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
        this.attach(spec, row.snapshot, row.version, row.epoch)
      } catch (err) {
        log.error('could not restore actor', { spec_id: row.spec_id, err })
        await this.markFailed(row.spec_id, err)
      }
    }
    this.leaseTimer = setInterval(() => void this.renew(), RENEW_MS)
    this.leaseTimer.unref()
    this.booted = true
    this.markRestored()
    log.info('actors restored', { count: rows.length, node: this.nodeId })
    return rows.length
  }

  /**
   * Renews the leases of the running actors; an actor whose lease another node took (this process was paused or cut
   * off past the lease) stops here at once. Then claims the specs of dead nodes. Runs every RENEW_MS, and before
   * anything judges the world by this node's copies after the database was away (src/server.ts, reconcile). Never
   * throws: a failed renewal is logged and the next one tries again.
   */
  async renew(): Promise<void> {
    if (this.stopping) return
    try {
      const copies = new Map(this.live)
      const fences = new Map([...copies].map(([id, l]) => [id, l.epoch]))
      for (const specId of await renewLeases(this.opts.sql, this.nodeId, fences)) {
        this.drop(specId, 'its lease was taken over by another node', copies.get(specId))
      }
      if (!this.opts.singleNode) {
        for (const row of await claimActors(this.opts.sql, this.nodeId, false)) {
          if (this.live.has(row.spec_id)) this.drop(row.spec_id, 'its lease expired')
          const spec = await findSpec(this.opts.sql, row.spec_id)
          if (spec) this.attach(spec, row.snapshot, row.version, row.epoch)
        }
      }
    } catch (err) {
      log.warn('lease renewal failed', { err })
    }
  }

  /** The specs whose actors run on this node now. */
  liveSpecIds(): string[] {
    return [...this.live.keys()]
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

  /** This node's lease on the spec while its copy runs here, else null: sandbox writes are fenced with it. */
  fenceOf(specId: string): Fence | null {
    const live = this.live.get(specId)
    return live && !live.stopped ? { node: this.nodeId, epoch: live.epoch } : null
  }

  /** True while this node's stale copy of the spec is being stopped (another node took it over). */
  isDropping(specId: string): boolean {
    return this.dropping.has(specId)
  }

  /**
   * A write outside the actor's own (a sandbox row) made under `epoch` was refused by the fence: the copy of that epoch
   * is stale and stops at once (a newer copy attached here since goes on).
   */
  fencedOut(specId: string, epoch: number): void {
    const live = this.live.get(specId)
    if (live?.epoch === epoch) this.drop(specId, 'a sandbox write was refused: another node holds its lease', live)
  }

  /**
   * Before an answer drawn from this node's copy alone (a command it refuses with 409): resolves when the copy still
   * holds the spec's claim (always on a single node, or without a copy here); otherwise stops the stale copy and throws NotOwnerError, so the
   * caller hands the request to the owner. A node that woke after losing its lease would else refuse what the new owner,
   * whose spec has moved on, accepts, until its next renewal (DESIGN §4, fencing).
   */
  async confirmClaim(specId: string): Promise<void> {
    const live = this.live.get(specId)
    // no copy here (a draft, a finished spec): the refusal comes from what is stored, not from a copy
    if (!live || this.opts.singleNode) return
    if (await holdsClaim(this.opts.sql, specId, { node: this.nodeId, epoch: live.epoch })) return
    this.drop(specId, 'its lease was taken over by another node (found before refusing a command)', live)
    throw new NotOwnerError(specId, '')
  }

  stateOf(specId: string): string | null {
    return this.live.get(specId)?.state ?? null
  }

  /**
   * Makes the spec's actor live on this node: creates a draft spec's actor (persisting its first snapshot), or claims
   * and restores a spec nobody holds a live lease on. A finished spec stays as it is. Throws NotOwnerError when another
   * node runs it: the caller hands the request over instead.
   */
  async ensure(spec: SpecRow): Promise<void> {
    await this.restored
    if (this.live.has(spec.id)) return
    const claim = await claimActor(this.opts.sql, spec.id, this.nodeId)
    if ('final' in claim) return
    if ('owner' in claim) throw new NotOwnerError(spec.id, claim.owner)
    if (this.live.has(spec.id)) return // attached meanwhile (a concurrent ensure)
    // a new actor's start notifies its first snapshot, which is written like any transition
    if ('claimed' in claim) this.attach(spec, claim.claimed.snapshot, claim.claimed.version, claim.claimed.epoch)
    else this.attach(spec, undefined, 0, 1)
    await this.live.get(spec.id)?.queue.idle()
  }

  /**
   * Sends an event and resolves once the transitions it caused are committed (and published). The actor is held while
   * an earlier transition waits for the database: the event is sent only once everything before it is stored.
   */
  async send(specId: string, event: SpecEvent): Promise<void> {
    await this.deliver(specId, event)
  }

  /**
   * `send`, with `write` made in the transaction that stores the transition the event causes (persist.ts,
   * AlongsideWrite): both are committed or neither. Resolves what `write` resolved in the committed transaction. Throws
   * NotOwnerError like `send`, and AppError `unavailable` (503) when that transition was not stored: this node is
   * shutting down, or the write was refused for good (the actor is stopped and the spec marked failed).
   */
  async sendWith<T>(specId: string, event: SpecEvent, write: AlongsideWrite<T>): Promise<T> {
    const rider: Rider = { write }
    await this.deliver(specId, event, rider)
    if (!rider.stored) throw new AppError('unavailable', 'The command could not be stored; retry shortly.')
    return rider.stored.value as T
  }

  private async deliver(specId: string, event: SpecEvent, rider?: Rider): Promise<void> {
    await this.settled(specId)
    const live = this.live.get(specId)
    // not (or no longer) here: another node took it over a moment ago; the caller hands the request to the owner
    if (!live) throw new NotOwnerError(specId, '')
    // the actor notifies the event's transition synchronously, inside send: its write (enqueuePersist) takes the rider
    live.rider = rider
    try {
      live.actor.send(event)
    } finally {
      live.rider = undefined
    }
    await live.queue.idle()
    // the write was refused by the fence: this copy was stale and is gone; the caller hands the request to the owner
    if (live.dropped) throw new NotOwnerError(specId, '')
  }

  /** Resolves once every write queued for the spec so far has landed (at once when it has no live actor). */
  settled(specId: string): Promise<void> {
    return this.live.get(specId)?.queue.idle() ?? Promise.resolve()
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

  /**
   * One append of agent or user events. In a cluster it is fenced like a transition: a node whose lease was taken over
   * writes nothing and stops its copy. A finished spec (an ended sandbox's last words) has no owner any more.
   */
  private async appendFenced(specId: string, events: NewEvent[]): Promise<AppendResult> {
    const live = this.live.get(specId)
    if (!live || this.opts.singleNode) return appendEvents(this.opts.sql, specId, events)
    return transaction(this.opts.sql, async (tx) => {
      await assertFence(tx, specId, { node: this.nodeId, epoch: live.epoch })
      return appendEvents(tx, specId, events)
    }).catch((err: unknown) => {
      if (!(err instanceof FencedError)) throw err
      this.drop(specId, 'its lease was taken over by another node', live)
      throw new NotOwnerError(specId, '')
    })
  }

  /** Reports the spec's messages no agent took (`user.message_undelivered`), in order with the actor's own events. */
  reportUndelivered(specId: string): Promise<void> {
    return this.queueFor(specId).push(async () => {
      const written = await transaction(this.opts.sql, (tx) => reportUndelivered(tx, specId))
      if (written.length) this.bus.publish({ kind: 'events', specId, events: written })
    })
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
    this.halt.abort()
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

  /** Stops the local copy of an actor this node no longer owns, without writing anything: the owner carries on. */
  private drop(specId: string, reason: string, live = this.live.get(specId)): void {
    if (!live || live.dropped) return
    // the copy that was refused, which may no longer be the one in the map (it was claimed and attached again)
    if (this.live.get(specId) === live) this.live.delete(specId)
    live.dropped = true
    live.stopped = true
    live.unsubscribe()
    this.dropping.add(specId)
    try {
      live.actor.stop()
    } finally {
      this.dropping.delete(specId)
    }
    log.warn('actor stopped on this node', { spec_id: specId, node: this.nodeId, reason })
  }

  private attach(spec: SpecRow, snapshot: unknown, version: number, epoch: number): void {
    const input: SpecInput = { specId: spec.id, approval: spec.approval, kind: spec.kind, settings: this.opts.settings }
    const actor = createActor(this.opts.machine, snapshot ? { input, snapshot: migrateSnapshot(snapshot) as never } : { input })
    const now = new Date().toISOString()
    const first = actor.getSnapshot()
    const live: Live = {
      actor,
      queue: this.queueFor(spec.id),
      version,
      epoch,
      dropped: false,
      previous: snapshot ? first.context : null,
      state: describeSnapshot(first).state,
      startedAt: now,
      lastTransitionAt: now,
      unsubscribe: () => {},
      stopped: false,
      rider: undefined,
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
        this.markFailed(spec.id, err).catch((e: unknown) => log.error('could not mark a spec failed', { spec_id: spec.id, err: e }))
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
    // only the first transition of a sent event carries its rider (the ones its effects cause later do not)
    const rider = live.rider
    live.rider = undefined
    void live.queue.push(async () => {
      if (live.stopped) return
      const version = live.version + 1
      const outcome = await writeUntilStored(
        { spec_id: specId },
        () =>
          persistTransition(this.opts.sql, {
            specId,
            version,
            fence: { node: this.nodeId, epoch: live.epoch },
            persisted,
            context,
            value: snap.value,
            logs,
            previous: live.previous,
            alongside: rider?.write,
          }),
        this.halt.signal,
      )
      if (!outcome.stored) {
        if (outcome.error instanceof FencedError) this.drop(specId, 'a write was refused: another node holds its lease', live)
        else if (!this.halt.signal.aborted) this.stopRefused(specId, live, outcome.error)
        return
      }
      const written = outcome.value
      live.version = version
      if (rider) rider.stored = { value: written.alongside }
      try {
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
        log.error('could not publish a transition', { spec_id: specId, err })
      }
    })
  }

  /**
   * A transition's write was refused for good (not a database outage): the actor stops at once, so memory never runs
   * ahead of what is stored, and the spec is marked failed.
   */
  private stopRefused(specId: string, live: Live, err: unknown): void {
    log.error('a transition could not be stored; the actor is stopped', { spec_id: specId, err })
    live.stopped = true
    live.unsubscribe()
    live.actor.stop()
    if (this.live.get(specId) === live) this.live.delete(specId)
    this.markFailed(specId, err).catch((e: unknown) => log.error('could not mark a spec failed', { spec_id: specId, err: e }))
  }

  /** The actor died: the spec is failed, said in the log (and to the room), and not restored into the same crash. */
  private markFailed(specId: string, err: unknown): Promise<void> {
    return this.queueFor(specId).push(async () => {
      const message = 'the spec stopped on an internal error; it has been logged'
      const written = await retryTransient('mark a spec failed', () => transaction(this.opts.sql, async (tx) => {
        const { written } = await appendEvents(tx, specId, [
          { id: newUuid(), type: 'spec.execution_failed', data: { error: message }, source: 'system', sandbox_id: null },
        ])
        const [row] = await tx<{ phases: PhaseSummary[] }[]>`select phases from specs where id = ${specId} for update`
        const phases = endUnfinishedPhases(row?.phases ?? [], 'failed', new Date().toISOString())
        await tx`update specs set status = 'failed', phases = ${tx.json(phases as never)}, updated_at = now() where id = ${specId}`
        await cancelUnfinishedWork(tx, specId)
        await tx`update spec_actors set final = true where spec_id = ${specId}`
        return written
      }), this.halt.signal)
      log.error('spec marked failed', { spec_id: specId, err })
      this.bus.publish({ kind: 'events', specId, events: written })
      await this.publishSpec(specId)
    })
  }
}
