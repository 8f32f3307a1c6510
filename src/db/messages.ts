import { newUuid } from '../ids.ts'
import type { SpecEvent } from '../schemas/events.ts'
import type { Sql } from './connect.ts'
import { appendEvents } from './events.ts'

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
