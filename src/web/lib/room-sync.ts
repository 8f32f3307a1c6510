import type { Spec, SpecEvent, Viewer } from '../types.ts'

/** What the room must fetch again because events came in (from a live frame or a replay, alike). */
export interface Refetch {
  artifacts: boolean
  tickets: boolean
}

const ARTIFACT_EVENTS: ReadonlySet<string> = new Set([
  'spec.phase_completed',
  'spec.awaiting_approval',
  'spec.approved',
  'spec.revision_requested',
  'spec.tasks_queued',
  'spec.retried',
])
const TICKET_EVENT = /^spec\.(task_|tasks_queued|execution_|retried|cancelled|integrated)/

/**
 * The loads new events imply. The room calls this for every event it had not seen, whether it arrived live or in the
 * replay after a reconnect, so a missed approval or task completion reloads what it changed.
 */
export function refetchFor(added: readonly SpecEvent[]): Refetch {
  let artifacts = false
  let tickets = false
  for (const e of added) {
    if (ARTIFACT_EVENTS.has(e.type)) artifacts = true
    if (TICKET_EVENT.test(e.type)) tickets = true
  }
  return { artifacts, tickets }
}

/** The events of `incoming` that `known` (seqs already in the log) does not hold, each once. */
export function unseen(known: ReadonlySet<number>, incoming: readonly SpecEvent[]): SpecEvent[] {
  const out: SpecEvent[] = []
  const seen = new Set<number>()
  for (const e of incoming) {
    if (known.has(e.seq) || seen.has(e.seq)) continue
    seen.add(e.seq)
    out.push(e)
  }
  return out
}

/** `spec:presence` as sent to unbatched joins (the full list) or batched ones (a delta per tick, CONTRACT §6). */
export type PresenceMessage =
  | { spec_id: string; viewers: Viewer[] }
  | { spec_id: string; joined?: Viewer[]; left?: Viewer[]; count?: number }

/** The viewer list after a presence message: a full list replaces it, a delta adds and removes by user id. */
export function applyPresence(current: readonly Viewer[], message: PresenceMessage): Viewer[] {
  if ('viewers' in message && Array.isArray(message.viewers)) return dedupe(message.viewers)
  const delta = message as { joined?: Viewer[]; left?: Viewer[] }
  const left = new Set((delta.left ?? []).map((v) => v.user_id))
  const joined = delta.joined ?? []
  const kept = current.filter((v) => !left.has(v.user_id) || joined.some((j) => j.user_id === v.user_id))
  return dedupe([...kept, ...joined])
}

function dedupe(viewers: readonly Viewer[]): Viewer[] {
  const byId = new Map<string, Viewer>()
  for (const v of viewers) byId.set(v.user_id, v)
  return [...byId.values()]
}

/**
 * The fresher of two copies of a spec: a `spec:state` broadcast can overtake the join answer (or the other way round),
 * and the older must not win. Ordered by `last_seq`, then `updated_at`; ties go to `next`.
 */
export function fresherSpec(current: Spec | null, next: Spec): Spec {
  if (!current) return next
  const a = current.last_seq ?? -1
  const b = next.last_seq ?? -1
  if (a !== b) return b > a ? next : current
  return Date.parse(next.updated_at) >= Date.parse(current.updated_at) ? next : current
}
