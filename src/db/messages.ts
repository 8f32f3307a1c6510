import { newUuid } from '../ids.ts'
import type { SpecEvent } from '../schemas/events.ts'
import type { Sql } from './connect.ts'
import { appendEvents, toEvent, type EventRow } from './events.ts'
import { FINAL_STATUSES } from './specs.ts'

/**
 * A person's message either reaches an agent (`agent.message_injected {message_seq}`) or is reported: every
 * `user.message` no agent took gets one `user.message_undelivered {message_seq}`. Called when no agent will come for
 * the spec any more (it completed, failed or was cancelled), and after a message that raced such an end. Idempotent.
 * Returns the events written.
 */
export async function reportUndelivered(tx: Sql, specId: string): Promise<SpecEvent[]> {
  const rows = await tx<{ seq: number }[]>`
    select m.seq from sandbox_events m
    where m.spec_id = ${specId} and m.type = 'user.message'
      and not exists (select 1 from sandbox_events e
        where e.spec_id = ${specId} and e.type in ('agent.message_injected', 'user.message_undelivered')
          and (e.data->>'message_seq')::bigint = m.seq)
    order by m.seq`
  if (rows.length === 0) return []
  const { written } = await appendEvents(
    tx,
    specId,
    rows.map((r) => ({ id: newUuid(), type: 'user.message_undelivered', data: { message_seq: r.seq }, source: 'user' as const, sandbox_id: null })),
  )
  return written
}

/**
 * User messages no agent has taken yet: after `afterSeq` when the agent says where it is, else after the last message
 * any agent of the spec reported injected (`agent.message_injected {message_seq}`), so a message sent while one agent
 * was finishing reaches the next. None once the spec has ended: its untaken messages are reported undelivered then
 * (`reportUndelivered`), and an agent still asking before its sandbox is ended must not take them after all.
 */
export async function pendingUserMessages(sql: Sql, specId: string, afterSeq: number | undefined): Promise<SpecEvent[]> {
  if (afterSeq === undefined) {
    const [row] = await sql<{ seq: number }[]>`
      select coalesce(max((data->>'message_seq')::bigint), 0)::int8 as seq from sandbox_events
      where spec_id = ${specId} and type = 'agent.message_injected'`
    afterSeq = row?.seq ?? 0
  }
  const rows = await sql<EventRow[]>`
    select e.* from sandbox_events e join specs s on s.id = e.spec_id
    where e.spec_id = ${specId} and e.type = 'user.message' and e.seq > ${afterSeq}
      and s.status <> all(${FINAL_STATUSES as string[]}::text[])
    order by e.seq asc limit 100`
  return rows.map(toEvent)
}
