import type { Sql } from './connect.ts'
import type { NewEvent, SpecEvent } from '../schemas/events.ts'

interface EventRow extends Omit<SpecEvent, 'created_at'> {
  created_at: Date
}

const toEvent = (r: EventRow): SpecEvent => ({ ...r, created_at: r.created_at.toISOString() })

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
  const written = await tx<EventRow[]>`
    with spec as (select last_seq from specs where id = ${specId} for update),
    incoming as (
      select * from jsonb_to_recordset(${tx.json(rows as never)})
        as x(ord int, id uuid, type text, data jsonb, source text, sandbox_id text)
    ),
    fresh as (
      select i.*, (select last_seq from spec) + row_number() over (order by i.ord) as seq
      from incoming i where not exists (select 1 from sandbox_events e where e.id = i.id)
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

/** Every event after `afterSeq`, oldest first: what a joining viewer replays. */
export async function eventsAfter(sql: Sql, specId: string, afterSeq: number, limit = 10_000): Promise<SpecEvent[]> {
  const rows = await sql<EventRow[]>`
    select * from sandbox_events where spec_id = ${specId} and seq > ${afterSeq} order by seq asc limit ${limit}`
  return rows.map(toEvent)
}

/**
 * User messages no agent has taken yet: after `afterSeq` when the agent says where it is, else after the last message
 * any agent of the spec reported injected (`agent.message_injected {message_seq}`), so a message sent while one agent
 * was finishing reaches the next.
 */
export async function pendingUserMessages(sql: Sql, specId: string, afterSeq: number | undefined): Promise<SpecEvent[]> {
  if (afterSeq === undefined) {
    const [row] = await sql<{ seq: number }[]>`
      select coalesce(max((data->>'message_seq')::bigint), 0)::int8 as seq from sandbox_events
      where spec_id = ${specId} and type = 'agent.message_injected'`
    afterSeq = row?.seq ?? 0
  }
  const rows = await sql<EventRow[]>`
    select * from sandbox_events where spec_id = ${specId} and type = 'user.message' and seq > ${afterSeq}
    order by seq asc limit 100`
  return rows.map(toEvent)
}
