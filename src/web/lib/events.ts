import type { SpecEvent } from '../types.ts'

/**
 * Merges events into a log kept in ascending `seq` order, each seq once. Returns `existing` itself when nothing is new,
 * so a signal holding the log does not notify for replays it already has.
 */
export function mergeEvents(existing: readonly SpecEvent[], incoming: readonly SpecEvent[]): readonly SpecEvent[] {
  if (incoming.length === 0) return existing
  const last = existing.length > 0 ? existing[existing.length - 1]!.seq : -Infinity
  // Fast path: the live case, new events strictly after what we have, already in order.
  let ordered = true
  let prev = last
  for (const e of incoming) {
    if (!(e.seq > prev)) {
      ordered = false
      break
    }
    prev = e.seq
  }
  if (ordered) return existing.concat(incoming)

  const bySeq = new Map<number, SpecEvent>()
  for (const e of existing) bySeq.set(e.seq, e)
  let added = false
  for (const e of incoming) {
    if (!bySeq.has(e.seq)) {
      bySeq.set(e.seq, e)
      added = true
    }
  }
  if (!added) return existing
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq)
}

/**
 * The highest seq up to which the log has no hole, counting from its first event; null for an empty log.
 * Rejoining with this as `after_seq` makes the server resend whatever a hole is missing.
 */
export function lastContiguousSeq(events: readonly SpecEvent[]): number | null {
  if (events.length === 0) return null
  let seq = events[0]!.seq
  for (let i = 1; i < events.length; i++) {
    const next = events[i]!.seq
    if (next !== seq + 1) break
    seq = next
  }
  return seq
}

/** True when the log has a hole (seq is gap-free per spec, so a hole means events we have not been sent). */
export function hasGap(events: readonly SpecEvent[]): boolean {
  return events.length > 0 && lastContiguousSeq(events) !== events[events.length - 1]!.seq
}

export const TOOL_TYPES: ReadonlySet<string> = new Set(['agent.tool_use', 'agent.tool_result'])
export const HEARTBEAT = 'agent.heartbeat'

/** What the timeline filter can select: everything, one source, or one exact type. */
export type EventFilter = 'all' | `source:${SpecEvent['source']}` | `type:${string}`

export interface FilterOptions {
  filter: EventFilter
  showHeartbeats: boolean
}

export function filterEvents(events: readonly SpecEvent[], { filter, showHeartbeats }: FilterOptions): SpecEvent[] {
  return events.filter((e) => {
    if (filter === 'all') {
      if (!showHeartbeats && e.type === HEARTBEAT) return false
      return true
    }
    if (filter.startsWith('source:')) {
      if (!showHeartbeats && e.type === HEARTBEAT) return false
      return e.source === filter.slice('source:'.length)
    }
    return e.type === filter.slice('type:'.length)
  })
}

/** How many events the timeline counts: heartbeats are hidden, so they are not counted either. */
export function countVisible(events: readonly SpecEvent[]): number {
  let n = 0
  for (const e of events) if (e.type !== HEARTBEAT) n++
  return n
}

/** The distinct event types in the log, sorted, for the filter's options. */
export function eventTypes(events: readonly SpecEvent[]): string[] {
  return [...new Set(events.map((e) => e.type))].sort()
}

export type TimelineItem =
  | { kind: 'event'; key: string; event: SpecEvent }
  | { kind: 'tools'; key: string; events: SpecEvent[] }

/**
 * Timeline rows, newest first. Runs of consecutive `agent.tool_use` / `agent.tool_result` events (two or more) become one
 * `tools` item holding them oldest first; its key is its first seq, so it stays the same row while the run grows.
 */
export function groupEvents(ascending: readonly SpecEvent[]): TimelineItem[] {
  const items: TimelineItem[] = []
  let run: SpecEvent[] = []
  const flush = () => {
    if (run.length === 1) items.push({ kind: 'event', key: `e${run[0]!.seq}`, event: run[0]! })
    else if (run.length > 1) items.push({ kind: 'tools', key: `t${run[0]!.seq}`, events: run })
    run = []
  }
  for (const e of ascending) {
    if (TOOL_TYPES.has(e.type)) {
      // Tasks run side by side: a run is one sandbox's calls, never two tasks' interleaved.
      if (run.length > 0 && run[0]!.sandbox_id !== e.sandbox_id) flush()
      run.push(e)
      continue
    }
    flush()
    items.push({ kind: 'event', key: `e${e.seq}`, event: e })
  }
  flush()
  return items.reverse()
}

/** How many events in the log are newer than `seq`: what the "new events" button counts. */
export function countNewerThan(events: readonly SpecEvent[], seq: number | null): number {
  if (seq === null) return 0
  let n = 0
  for (let i = events.length - 1; i >= 0 && events[i]!.seq > seq; i--) n++
  return n
}
