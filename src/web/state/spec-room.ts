/**
 * One spec room's live state (CONTRACT §6): joins `spec:<id>` over the socket (batched), keeps the event log (deduped by
 * seq, backfilled over REST if a hole appears), the spec, presence, artifacts and the live tickets of the spec. On every
 * reconnect it rejoins with the last seq it saw, so only missed events come back. Every event it had not seen, live or
 * replayed, goes through one path ({@link refetchFor}), so a replay reloads exactly what the live event would have.
 */
import { signal, type Signal } from '@preact/signals'
import { api, errorMessage } from '../api.ts'
import { hasGap, lastContiguousSeq, mergeEvents } from '../lib/events.ts'
import { applyPresence, fresherSpec, refetchFor, unseen, type PresenceMessage } from '../lib/room-sync.ts'
import { ticketSpecId } from '../lib/tickets.ts'
import { emitAck, getSocket, onConnect } from '../socket.ts'
import type { Ack, Artifacts, CommandName, JoinAck, Member, SocketError, Spec, SpecEvent, Ticket, Viewer } from '../types.ts'

export type JoinStatus = 'joining' | 'joined' | 'error'

export interface SpecRoom {
  readonly specId: string
  readonly spec: Signal<Spec | null>
  /** `can_edit` as the server answered the join (per caller); broadcast `spec:state` does not change it. */
  readonly serverCanEdit: Signal<boolean | undefined>
  readonly events: Signal<readonly SpecEvent[]>
  readonly viewers: Signal<Viewer[]>
  readonly joinStatus: Signal<JoinStatus>
  readonly joinError: Signal<SocketError | null>
  /** A REST backfill of missed events failed; the timeline says so. */
  readonly backfillError: Signal<string | null>
  readonly artifacts: Signal<Artifacts | null>
  readonly artifactsError: Signal<string | null>
  /** The project's people (for names where events carry user ids); empty until loaded or without a project. */
  readonly people: Signal<Member[]>
  readonly tickets: Signal<Ticket[] | null>
  readonly ticketsError: Signal<string | null>
  /** Starts listening and joins; returns the function that leaves. */
  start(): () => void
  rejoin(): void
  command(command: CommandName, extra?: { phase?: string; feedback?: string; text?: string; task_id?: string }): Promise<Ack>
  /** PATCH /specs/:id {budget_usd} (USD; null: no limit); the room shows the answer. Throws the API's error. */
  setBudget(budgetUsd: number | null): Promise<void>
  /** POST /specs/:id/execute, for a spec still in `draft`. */
  execute(): Promise<void>
  reloadArtifacts(): void
  reloadTickets(): void
}

function debounce(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined
  const run = () => {
    clearTimeout(timer)
    timer = setTimeout(fn, ms)
  }
  run.cancel = () => clearTimeout(timer)
  return run
}

export function createSpecRoom(specId: string): SpecRoom {
  const spec = signal<Spec | null>(null)
  const serverCanEdit = signal<boolean | undefined>(undefined)
  const events = signal<readonly SpecEvent[]>([])
  const viewers = signal<Viewer[]>([])
  const joinStatus = signal<JoinStatus>('joining')
  const joinError = signal<SocketError | null>(null)
  const backfillError = signal<string | null>(null)
  const artifacts = signal<Artifacts | null>(null)
  const artifactsError = signal<string | null>(null)
  const tickets = signal<Ticket[] | null>(null)
  const people = signal<Member[]>([])
  let peopleLoaded = false
  const ticketsError = signal<string | null>(null)
  let disposed = false
  let filling = false

  /** The one way events enter the log; reloads what the new ones imply. */
  const ingest = (incoming: readonly SpecEvent[]) => {
    const mine = incoming.filter((e) => e.spec_id === undefined || e.spec_id === specId)
    const added = unseen(new Set(events.value.map((e) => e.seq)), mine)
    if (added.length === 0) return
    events.value = mergeEvents(events.value, added)
    react(added)
    if (hasGap(events.value)) void backfill()
  }
  const react = (added: readonly SpecEvent[]) => {
    const need = refetchFor(added)
    if (need.artifacts) loadArtifacts()
    if (need.tickets || (need.artifacts && tickets.value !== null)) loadTickets()
  }

  /** Fetches over REST whatever a hole in the log is missing (seq is gap-free, so a hole is a miss). */
  async function backfill(): Promise<void> {
    if (filling) return
    filling = true
    try {
      for (let round = 0; round < 50 && !disposed && hasGap(events.value); round++) {
        const after = lastContiguousSeq(events.value)!
        const page = await api.events(specId, { after_seq: after, limit: 500 })
        const before = events.value
        const added = unseen(new Set(before.map((e) => e.seq)), page.events ?? [])
        if (added.length === 0) break // the server has nothing for the hole; do not spin
        events.value = mergeEvents(before, added)
        react(added)
      }
      backfillError.value = null
    } catch (err) {
      backfillError.value = `Some events could not be loaded: ${errorMessage(err)}`
    } finally {
      filling = false
    }
  }

  const loadArtifacts = debounce(() => {
    api.artifacts(specId).then(
      (a) => {
        if (disposed) return
        artifacts.value = a
        artifactsError.value = null
      },
      (err) => !disposed && (artifactsError.value = errorMessage(err)),
    )
  }, 300)

  const loadTickets = debounce(() => {
    const projectId = spec.value?.project_id ?? null
    api
      .board(projectId)
      .then(async (board) => {
        const mine = board.columns.flatMap((c) => c.tickets).filter((t) => ticketSpecId(t) === specId)
        return Promise.all(mine.map((t) => (Array.isArray(t.tasks) ? t : api.ticket(t.id))))
      })
      .then(
        (list) => {
          if (disposed) return
          tickets.value = list
          ticketsError.value = null
        },
        (err) => !disposed && (ticketsError.value = errorMessage(err)),
      )
  }, 500)

  async function join(): Promise<void> {
    const socket = getSocket()
    if (joinStatus.value !== 'joined') joinStatus.value = 'joining'
    const after = lastContiguousSeq(events.value)
    const payload = after === null ? { spec_id: specId, batch: true } : { spec_id: specId, after_seq: after, batch: true }
    const ack = await emitAck<JoinAck>(socket, 'spec:join', payload)
    if (disposed) return
    if (!ack.ok) {
      joinError.value = ack.error
      joinStatus.value = 'error'
      return
    }
    joinError.value = null
    if (ack.spec) {
      setSpec(ack.spec)
      serverCanEdit.value = typeof ack.spec.can_edit === 'boolean' ? ack.spec.can_edit : undefined
    }
    viewers.value = applyPresence([], { spec_id: specId, viewers: ack.viewers ?? [] })
    ingest(ack.events ?? [])
    joinStatus.value = 'joined'
    if (!peopleLoaded && ack.spec?.project_id) {
      peopleLoaded = true
      api.members(ack.spec.project_id).then(
        (list) => !disposed && (people.value = list.members),
        () => (peopleLoaded = false), // names fall back to what events and presence say
      )
    }
    // A load that failed while we were away is tried again; one never made is made now.
    if (artifacts.value === null || artifactsError.value) loadArtifacts()
    const running = ack.spec && ['sync', 'execute', 'done'].includes(ack.spec.current_phase)
    if ((tickets.value === null && running) || ticketsError.value) loadTickets()
  }

  const setSpec = (next: Spec) => {
    const before = spec.value
    spec.value = fresherSpec(before, next)
    if (before && spec.value !== before && before.current_phase !== spec.value.current_phase) loadArtifacts()
  }
  const onEvent = (e: SpecEvent) => ingest([e])
  const onEvents = (batch: SpecEvent[]) => ingest(Array.isArray(batch) ? batch : [])
  const onState = (s: Spec) => {
    if (s.id === specId) setSpec(s)
  }
  /** The caller lost access (removed from the project): the server took this socket out of the room. */
  const onRevoked = (p: { spec_id: string }) => {
    if (p?.spec_id !== specId) return
    disposed = true // nothing more is loaded or shown for this spec
    spec.value = null
    events.value = []
    artifacts.value = null
    tickets.value = null
    joinError.value = { code: 'access_revoked', message: 'You no longer have access to this spec: you were removed from its project.' }
    joinStatus.value = 'error'
  }
  const onPresence = (p: PresenceMessage) => {
    if (p.spec_id === specId) viewers.value = applyPresence(viewers.value, p)
  }

  return {
    specId,
    spec,
    serverCanEdit,
    events,
    viewers,
    joinStatus,
    joinError,
    backfillError,
    artifacts,
    artifactsError,
    tickets,
    ticketsError,
    people,
    start() {
      const socket = getSocket()
      socket.on('spec:event', onEvent)
      socket.on('spec:events', onEvents)
      socket.on('spec:state', onState)
      socket.on('spec:presence', onPresence)
      socket.on('spec:access_revoked', onRevoked)
      const stopConnect = onConnect(socket, () => void join())
      return () => {
        disposed = true
        loadArtifacts.cancel()
        loadTickets.cancel()
        stopConnect()
        socket.off('spec:event', onEvent)
        socket.off('spec:events', onEvents)
        socket.off('spec:state', onState)
        socket.off('spec:presence', onPresence)
        socket.off('spec:access_revoked', onRevoked)
        if (socket.connected) socket.emit('spec:leave', { spec_id: specId }, () => {})
      }
    },
    rejoin: () => void join(),
    command: (command, extra = {}) => emitAck(getSocket(), 'spec:command', { spec_id: specId, command, ...extra }),
    async setBudget(budgetUsd) {
      const updated = await api.updateSpec(specId, { budget_usd: budgetUsd })
      if (!disposed) setSpec(updated)
    },
    async execute() {
      await api.execute(specId)
      const fresh = await api.spec(specId)
      if (!disposed) setSpec(fresh)
    },
    reloadArtifacts: loadArtifacts,
    reloadTickets: loadTickets,
  }
}
