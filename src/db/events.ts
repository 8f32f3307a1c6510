import type { Sql } from './connect.ts'
import type { NewEvent, SpecEvent } from '../schemas/events.ts'

export interface EventRow extends Omit<SpecEvent, 'created_at'> {
  created_at: Date
}

export const toEvent = (r: EventRow): SpecEvent => ({ ...r, created_at: r.created_at.toISOString() })

/**
 * Appends events to a spec's log in ONE statement (inside the caller's transaction, or alone): the spec row is locked,
 * so appends to one spec are serialized and `seq` has no gaps; events whose producer id is already stored are skipped
 * (idempotent retries). Returns the events written, in seq order, and how many were duplicates.
 */
export async function appendEvents(
  tx: Sql,
  specId: string,
  events: NewEvent[],
): Promise<{ written: SpecEvent[]; duplicates: number }> {
  if (events.length === 0) return { written: [], duplicates: 0 }
  const seen = new Set<string>()
  const unique = events.filter((e) => !seen.has(e.id) && seen.add(e.id))
  const rows = unique.map((e, ord) => ({ ord, id: e.id, type: e.type, data: e.data, source: e.source, sandbox_id: e.sandbox_id ?? null }))
  // The ids already stored are found with `id = any(…)`: the planner knows how many there are and probes the index
  // for each. Written as `not exists`, it took the incoming rows for 100 whatever their number and hashed the whole log
  // with a sequential scan whenever it believed the log small: planned afresh, up to tens of thousands of rows; in a
  // plan cached while the log was small (connect.ts now plans every statement afresh), for good — 4 ms per batch of
  // 100 at 100 events, 12 ms at 20,000 (bench/README.md, issue 13).
  const written = await tx<EventRow[]>`
    with spec as (select last_seq from specs where id = ${specId} for update),
    incoming as (
      select * from jsonb_to_recordset(${tx.json(rows as never)})
        as x(ord int, id uuid, type text, data jsonb, source text, sandbox_id text)
    ),
    stored as (select id from sandbox_events where id = any(${rows.map((r) => r.id)}::uuid[])),
    fresh as (
      select i.*, (select last_seq from spec) + row_number() over (order by i.ord) as seq
      from incoming i where i.id not in (select id from stored)
    ),
    inserted as (
      insert into sandbox_events (seq, id, spec_id, sandbox_id, type, data, source)
      select seq, id, ${specId}, sandbox_id, type, data, source from fresh
      returning seq, id, spec_id, sandbox_id, type, data, source, created_at
    ),
    counted as (update specs set last_seq = last_seq + (select count(*) from inserted) where id = ${specId})
    select * from inserted order by seq`
  if (written.length === 0 && (await tx`select 1 from specs where id = ${specId}`).length === 0) {
    throw new Error(`spec ${specId} does not exist`)
  }
  return { written: written.map(toEvent), duplicates: events.length - written.length }
}

/** The seq of a spec's event by its id; null when it is not stored. */
export async function eventSeq(sql: Sql, specId: string, id: string): Promise<number | null> {
  const [row] = await sql<{ seq: number }[]>`select seq from sandbox_events where spec_id = ${specId} and id = ${id}`
  return row?.seq ?? null
}

export interface EventQuery {
  limit: number
  offset: number
  after_seq?: number
  type?: string
}

/** Newest first; oldest first when `after_seq` is given (a client catching up). */
export async function listEvents(sql: Sql, specId: string, q: EventQuery): Promise<{ events: SpecEvent[]; total: number }> {
  const after = q.after_seq ?? null
  const type = q.type ?? null
  const filter = sql`spec_id = ${specId}
    and (${after}::bigint is null or seq > ${after}::bigint)
    and (${type}::text is null or type = ${type}::text)`
  const order = after === null ? sql`seq desc` : sql`seq asc`
  const [rows, [count]] = await Promise.all([
    sql<EventRow[]>`select * from sandbox_events where ${filter} order by ${order} limit ${q.limit} offset ${q.offset}`,
    sql<{ total: number }[]>`select count(*)::int8 as total from sandbox_events where ${filter}`,
  ])
  return { events: rows.map(toEvent), total: count?.total ?? 0 }
}

/** The most events one replay (or gap fill) reads; a replay cut at it goes on as live events (src/sockets/feed.ts). */
export const REPLAY_LIMIT = 10_000

/** Every event after `afterSeq` (up to `upToSeq` when given), oldest first, at most `limit`: what a joining viewer replays. */
export async function eventsAfter(sql: Sql, specId: string, afterSeq: number, limit = REPLAY_LIMIT, upToSeq?: number): Promise<SpecEvent[]> {
  const upTo = upToSeq === undefined ? sql`` : sql`and seq <= ${upToSeq}`
  const rows = await sql<EventRow[]>`
    select * from sandbox_events where spec_id = ${specId} and seq > ${afterSeq} ${upTo} order by seq asc limit ${limit}`
  return rows.map(toEvent)
}

/** What one caller of a group commit gets back: its own events written, and its own duplicates. */
export interface AppendResult {
  written: SpecEvent[]
  duplicates: number
}

/** The most events merged into one statement; a call that would pass it starts the next group. */
export const GROUP_MAX_EVENTS = 1_000

interface Waiting {
  events: NewEvent[]
  resolve: (result: AppendResult) => void
  reject: (err: unknown) => void
}

/** The calls of one group, with their event count. */
interface Group {
  calls: Waiting[]
  size: number
}

/**
 * App-level group commit of one spec's appends: calls that arrive while the spec's previous append is still being
 * written wait in one group, and the whole group is written with ONE `appendEvents` statement when its turn comes.
 * Throughput then follows demand (a busy event loop stretches each round trip, so more calls share the next one)
 * instead of being one round trip per request. Each caller gets its own events' seqs; an id sent twice in a group is
 * written once and counted as a duplicate for the later caller. Should the merged statement fail, each call is retried
 * on its own, so one bad request cannot fail the others.
 */
export class GroupCommit {
  private open = new Map<string, Group>()

  /**
   * `write` is one `appendEvents` (the host fences it in a cluster); `schedule` runs a job in the spec's turn (its
   * serial queue); `written` is told, in that turn, of every event written, in seq order (the host publishes them).
   */
  constructor(
    private readonly write: (specId: string, events: NewEvent[]) => Promise<AppendResult>,
    private readonly schedule: (specId: string, job: () => Promise<void>) => Promise<void>,
    private readonly written: (specId: string, events: SpecEvent[]) => void,
  ) {}

  append(specId: string, events: NewEvent[]): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      const call = { events, resolve, reject }
      const group = this.open.get(specId)
      if (group && group.size + events.length <= GROUP_MAX_EVENTS) {
        group.calls.push(call)
        group.size += events.length
        return
      }
      const next: Group = { calls: [call], size: events.length }
      this.open.set(specId, next)
      void this.schedule(specId, async () => {
        if (this.open.get(specId) === next) this.open.delete(specId) // later calls start the next group
        await this.commit(specId, next.calls)
      })
    })
  }

  private async commit(specId: string, calls: Waiting[]): Promise<void> {
    let merged: SpecEvent[] | null = null
    if (calls.length > 1) {
      try {
        merged = (await this.write(specId, calls.flatMap((c) => c.events))).written
      } catch {
        // one call may be at fault: each on its own below, so only that one fails
      }
    }
    if (merged) {
      if (merged.length) this.written(specId, merged)
      const byId = new Map(merged.map((e) => [e.id, e]))
      for (const call of calls) {
        const own: SpecEvent[] = []
        for (const e of call.events) {
          const event = byId.get(e.id)
          if (event && byId.delete(e.id)) own.push(event)
        }
        call.resolve({ written: own, duplicates: call.events.length - own.length })
      }
      return
    }
    for (const call of calls) {
      try {
        const result = await this.write(specId, call.events)
        if (result.written.length) this.written(specId, result.written)
        call.resolve(result)
      } catch (err) {
        call.reject(err)
      }
    }
  }
}
