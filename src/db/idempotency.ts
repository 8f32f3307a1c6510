import type { Sql } from './connect.ts'

/**
 * Table `idempotency_keys` (migration 00011): per (user, Idempotency-Key) the fingerprint of the request it was first
 * used with and, once answered, that answer. IETF draft "The Idempotency-Key HTTP Header Field" (httpapi WG): a key
 * names one request; a retry with it gets the first answer again, without the request being applied again.
 */

/** How long a key and its answer are kept (the draft leaves it to the server; the README promises 24 h). */
const RETENTION = '24 hours'
/** Expired rows deleted per reservation: the table shrinks as it is used, never in one long statement. */
const EXPIRED_PER_RESERVATION = 100

/** The first answer to a keyed request: its HTTP status and JSON body (a CONTRACT §2 error body for a 4xx). */
export interface StoredAnswer {
  code: number
  body: Record<string, unknown>
}

/** A key as stored: `answer` is null while a node still serves the request (a reservation). */
export interface KeyRow {
  fingerprint: string
  answer: StoredAnswer | null
}

/**
 * Reserves (user, key) for the request with `fingerprint`, as `holder` (a random id of this serving): inserts the row,
 * or takes over one older than 24 h, or a reservation of the same request left unanswered for `abandonedAfterMs` (its
 * node gave up or died). Resolves true when `holder` holds it now, false when another row stands (see findKey).
 * Deletes up to 100 expired rows first.
 */
export async function reserveKey(
  sql: Sql,
  r: { userId: string; key: string; fingerprint: string; holder: string; abandonedAfterMs: number },
): Promise<boolean> {
  // the expiry is checked again on the row deleted: one taken over by a new request since the subquery read it (its
  // created_at is now) is kept, as PostgreSQL re-evaluates only the outer conditions on the row's newest version
  await sql`delete from idempotency_keys where created_at < now() - ${RETENTION}::interval and (user_id, key) in (
    select user_id, key from idempotency_keys where created_at < now() - ${RETENTION}::interval limit ${EXPIRED_PER_RESERVATION})`
  const rows = await sql`
    insert into idempotency_keys (user_id, key, fingerprint, holder) values (${r.userId}, ${r.key}, ${r.fingerprint}, ${r.holder})
    on conflict (user_id, key) do update
      set fingerprint = excluded.fingerprint, holder = excluded.holder, status = null, answer = null, created_at = now(), completed_at = null
      where idempotency_keys.created_at < now() - ${RETENTION}::interval
         or (idempotency_keys.status is null and idempotency_keys.fingerprint = excluded.fingerprint
             and idempotency_keys.created_at < now() - ${r.abandonedAfterMs} * interval '1 millisecond')
    returning 1`
  return rows.length === 1
}

/** The key's row (null when there is none, or it is older than 24 h). */
export async function findKey(sql: Sql, userId: string, key: string): Promise<KeyRow | null> {
  const [row] = await sql<{ fingerprint: string; status: number | null; answer: Record<string, unknown> | null }[]>`
    select fingerprint, status, answer from idempotency_keys
    where user_id = ${userId} and key = ${key} and created_at >= now() - ${RETENTION}::interval`
  if (!row) return null
  return { fingerprint: row.fingerprint, answer: row.status === null ? null : { code: row.status, body: row.answer ?? {} } }
}

/**
 * Stores `answer` as the answer of (user, key) unless one is stored already: completes the reservation (whoever holds
 * it), or inserts the row when the receiving node released its reservation meanwhile. Resolves the answer that stands:
 * `answer` itself, or (`replayed: true`) the one stored first. A key taken by a different request meanwhile is not
 * overwritten (`answer` itself is resolved). An answer stored now is resolved as the column holds it. The column is json,
 * not jsonb: a replay is the same text, keys in order.
 */
export async function recordAnswer(
  sql: Sql,
  r: { userId: string; key: string; fingerprint: string; answer: StoredAnswer },
): Promise<{ answer: StoredAnswer; replayed: boolean }> {
  // returned as the column holds it, after the text boundary (a lone surrogate is U+FFFD there): the first answer must
  // be the very answer its retries get
  const [stored] = await sql<{ status: number; answer: Record<string, unknown> }[]>`
    insert into idempotency_keys (user_id, key, fingerprint, status, answer, completed_at)
    values (${r.userId}, ${r.key}, ${r.fingerprint}, ${r.answer.code}, ${r.answer.body as never}, now())
    on conflict (user_id, key) do update
      set status = excluded.status, answer = excluded.answer, completed_at = now()
      where idempotency_keys.status is null and idempotency_keys.fingerprint = excluded.fingerprint
    returning status, answer`
  if (stored) return { answer: { code: stored.status, body: stored.answer }, replayed: false }
  const standing = await findKey(sql, r.userId, r.key)
  return standing?.answer && standing.fingerprint === r.fingerprint ? { answer: standing.answer, replayed: true } : { answer: r.answer, replayed: false }
}

/** Gives up `holder`'s reservation if it is still unanswered (the node that applies the command may have answered it). */
export async function releaseKey(sql: Sql, r: { userId: string; key: string; holder: string }): Promise<void> {
  await sql`delete from idempotency_keys where user_id = ${r.userId} and key = ${r.key} and holder = ${r.holder} and status is null`
}
