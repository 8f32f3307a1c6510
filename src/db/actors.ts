import { logger } from '../log.ts'
import { transaction, type Sql } from './connect.ts'

const log = logger('omoi:db')

export interface ActorRow {
  spec_id: string
  snapshot: unknown
  version: number
  state: string
  final: boolean
  owner_node: string | null
  lease_expires_at: Date | null
  /** Incremented by every claim: the fencing token of the current owner (DESIGN §4). */
  epoch: number
  started_at: Date
  updated_at: Date
}

/** A lease lives this long unless renewed; renewal runs every RENEW_MS, so a dead owner's specs move within ~LEASE_MS. */
export const LEASE_MS = 10_000
export const RENEW_MS = 3_000
/**
 * How long a claim waits for a spec's lease row that another transaction holds locked before it looks at who that is
 * (`endStaleHolders`); also how long it waits for an ended holder's backend to exit. A live owner's fenced write holds
 * the row for milliseconds.
 */
export const CLAIM_LOCK_WAIT_MS = 2_000
/** SQLSTATE lock_not_available: `lock_timeout` ran out. */
const LOCK_NOT_AVAILABLE = '55P03'

/** The node's claim on one spec: every write of that spec's state must carry it (`assertFence`). */
export interface Fence {
  node: string
  epoch: number
}

/** A write was refused because this node no longer holds the spec's lease with its epoch (another node took it over). */
export class FencedError extends Error {
  constructor(readonly specId: string) {
    super(`spec ${specId}: this node no longer holds its lease (fenced out)`)
    this.name = 'FencedError'
  }
}

const leaseEnd = (sql: Sql) => sql`now() + ${LEASE_MS / 1000} * interval '1 second'`

/**
 * Inside a transaction: locks the spec's actor row and checks that `fence` still owns it, so no claim can move the
 * lease until this transaction ends. Throws FencedError otherwise. A spec without an actor row yet passes (its first
 * write inserts the row with the fence's epoch).
 */
export async function assertFence(tx: Sql, specId: string, fence: Fence): Promise<void> {
  const [row] = await tx<{ owner_node: string | null; epoch: number }[]>`
    select owner_node, epoch from spec_actors where spec_id = ${specId} for update`
  if (row && (row.owner_node !== fence.node || row.epoch !== fence.epoch)) throw new FencedError(specId)
}

/**
 * Runs `write` in a transaction that first passes `assertFence`: a write of the spec's state made outside a transition
 * (a sandbox row, the delivery's branch and check) by a node that holds the lease. A null fence (this node's copy is
 * gone) or a lost lease throws FencedError and writes nothing.
 */
export function fencedWrite<T>(sql: Sql, specId: string, fence: Fence | null, write: (tx: Sql) => Promise<T>): Promise<T> {
  if (!fence) return Promise.reject(new FencedError(specId))
  return transaction(sql, async (tx) => {
    await assertFence(tx, specId, fence)
    return write(tx)
  })
}

/** Writes the snapshot; call inside the transaction that ran `assertFence` for the same fence. */
export async function saveActor(
  sql: Sql,
  a: { spec_id: string; snapshot: unknown; version: number; state: string; final: boolean; fence: Fence },
): Promise<void> {
  const result = await sql`
    insert into spec_actors (spec_id, snapshot, version, state, final, owner_node, lease_expires_at, epoch)
    values (${a.spec_id}, ${sql.json(a.snapshot as never)}, ${a.version}, ${a.state}, ${a.final}, ${a.fence.node},
            ${leaseEnd(sql)}, ${a.fence.epoch})
    on conflict (spec_id) do update set snapshot = excluded.snapshot, version = excluded.version, state = excluded.state,
      final = excluded.final, lease_expires_at = excluded.lease_expires_at, updated_at = now()
    where spec_actors.owner_node = excluded.owner_node and spec_actors.epoch = excluded.epoch`
  // a first write that lost the race for a new spec's row to another node
  if (result.count === 0) throw new FencedError(a.spec_id)
}

export async function loadActor(sql: Sql, specId: string): Promise<ActorRow | null> {
  const [row] = await sql<ActorRow[]>`select * from spec_actors where spec_id = ${specId}`
  return row ?? null
}

/**
 * Claims the leases of unfinished actors this node may run: unowned or expired ones, or every one when `all` (a single
 * node owns everything). Each claim increments the epoch. Rows another node is claiming or writing right now are
 * skipped (`FOR UPDATE SKIP LOCKED`), so two nodes never get the same row from one round; first, the transactions of
 * nodes that stopped holding an expired lease's row are ended (`endStaleHolders`), so such a row is not skipped for good.
 */
export async function claimActors(sql: Sql, node: string, all: boolean, limit = 100_000): Promise<ActorRow[]> {
  await endStaleHolders(sql, null)
  return sql<ActorRow[]>`
    update spec_actors set owner_node = ${node}, lease_expires_at = ${leaseEnd(sql)}, epoch = epoch + 1
    where spec_id in (
      select spec_id from spec_actors
      where final = false and (${all} or owner_node is null or lease_expires_at < now())
      limit ${limit}
      for update skip locked
    )
    returning *`
}

/**
 * Claims one unfinished spec for this node when nobody else holds a live lease on it (the epoch goes up). Answers the
 * claimed row, the owner the row names when another node holds a live lease (or is claiming it right now), `final` for
 * a finished spec, `missing` without an actor row. Waits at most CLAIM_LOCK_WAIT_MS for a row another transaction has
 * locked; when that transaction belongs to a node that stopped while it held the now expired lease, ends it
 * (`endStaleHolders`) and claims again.
 */
export async function claimActor(
  sql: Sql,
  specId: string,
  node: string,
): Promise<{ claimed: ActorRow } | { owner: string } | { final: true } | { missing: true }> {
  for (;;) {
    try {
      const [claimed] = await transaction(sql, async (tx) => {
        await tx`select set_config('lock_timeout', ${String(CLAIM_LOCK_WAIT_MS)}, true)`
        return tx<ActorRow[]>`
          update spec_actors set owner_node = ${node}, lease_expires_at = ${leaseEnd(tx)}, epoch = epoch + 1
          where spec_id = ${specId} and final = false
            and (owner_node is null or owner_node = ${node} or lease_expires_at < now())
          returning *`
      })
      if (claimed) return { claimed }
      break
    } catch (err) {
      if ((err as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) throw err
      // again only after a holder exited: those begun before the lease ended are few, and no more can begin
      if ((await endStaleHolders(sql, specId)) === 0) break
    }
  }
  const row = await loadActor(sql, specId)
  if (!row) return { missing: true }
  if (row.final) return { final: true }
  return { owner: row.owner_node ?? '' }
}

/**
 * Ends the backends whose transactions hold an expired lease's row locked (one spec's, or every spec's when `specId` is
 * null) and either began before that lease ended (a node stopped in the middle of a write under its lease) or have
 * waited for their client for a whole lease, LEASE_MS (a node that woke after its lease ended, began a write and stopped
 * again). PostgreSQL 15 never ends such a transaction when the node stopped between the two halves of a statement
 * (src/db/connect.ts), and every claim of the spec would wait on it until the node resumes. The node lost the spec
 * anyway: the fence refuses what it writes when it wakes up. Never ends the holder of a live lease, nor a transaction
 * begun after the lease ended that is still talking to its node (another node claiming the spec right now). Waits up to
 * CLAIM_LOCK_WAIT_MS for each ended backend to exit, so its locks are free on return, and answers how many did; each
 * one ended is logged as a warning. Nothing to do on embedded PGlite (one connection).
 *
 * The row's `xmax` is its locker's transaction id, whose lock `pg_locks` lists with the backend's pid. A multixact
 * xmax (several lockers sharing the row; no statement of ours does that) would read as an unrelated transaction id, so
 * the backend must also hold a lock on spec_actors in this database; and it must run as this role, which may end it.
 */
async function endStaleHolders(sql: Sql, specId: string | null): Promise<number> {
  const ended = await sql<{ spec_id: string; owner_node: string | null; pid: number; exited: boolean }[]>`
    select a.spec_id, a.owner_node, l.pid, pg_terminate_backend(l.pid, ${CLAIM_LOCK_WAIT_MS}) as exited
    from spec_actors a
    join pg_locks l on l.locktype = 'transactionid' and l.granted and l.transactionid = a.xmax
    join pg_stat_activity s on s.pid = l.pid
    where ${specId === null ? sql`true` : sql`a.spec_id = ${specId}`}
      and a.final = false and a.lease_expires_at < now()
      and (s.xact_start < a.lease_expires_at
        or (s.wait_event = 'ClientRead' and s.state_change < now() - ${LEASE_MS / 1000} * interval '1 second'))
      and s.datname = current_database() and s.usename = current_user
      and exists (select 1 from pg_locks t where t.pid = l.pid and t.locktype = 'relation' and t.relation = 'spec_actors'::regclass)`
  for (const { spec_id, owner_node, pid, exited } of ended) {
    log.warn('ended the transaction of a node that stopped holding an expired lease', { spec_id, owner: owner_node, pid, exited })
  }
  return ended.filter((e) => e.exited).length
}

/**
 * Renews this node's leases on the specs it runs, each only while its epoch is still the one this node claimed.
 * Answers the specs that were taken over (another owner or epoch): those must stop here. A spec whose first snapshot
 * is not written yet has no row and is not lost.
 */
export async function renewLeases(sql: Sql, node: string, fences: Map<string, number>): Promise<string[]> {
  if (fences.size === 0) return []
  const ids = [...fences.keys()]
  const epochs = ids.map((id) => fences.get(id)!)
  const rows = await sql<{ spec_id: string; renewed: boolean }[]>`
    with mine as (select * from unnest(${sql.array(ids)}::text[], ${sql.array(epochs)}::bigint[]) as f(spec_id, epoch)),
    renewed as (
      update spec_actors a set lease_expires_at = ${leaseEnd(sql)}
      from mine where a.spec_id = mine.spec_id and a.owner_node = ${node} and a.epoch = mine.epoch
      returning a.spec_id)
    select a.spec_id from spec_actors a join mine on a.spec_id = mine.spec_id
    where a.spec_id not in (select spec_id from renewed)`
  return rows.map((r) => r.spec_id)
}

/** Gives up this node's leases at shutdown, so another node may take the specs over at once. */
export async function releaseLeases(sql: Sql, node: string): Promise<void> {
  await sql`update spec_actors set lease_expires_at = now() where owner_node = ${node}`
}

/**
 * Whether `fence` is still the spec's claim (its node and epoch), read without locking: for answers drawn from a live
 * copy's state alone, which a node that lost the lease must not give. A spec without an actor row yet passes, as in
 * `assertFence`. An expired lease nobody has claimed since still passes: the copy is then what is stored.
 */
export async function holdsClaim(sql: Sql, specId: string, fence: Fence): Promise<boolean> {
  const [row] = await sql<{ owner_node: string | null; epoch: number }[]>`select owner_node, epoch from spec_actors where spec_id = ${specId}`
  return !row || (row.owner_node === fence.node && row.epoch === fence.epoch)
}

/** The node that holds a live lease on the spec, or null (no row, final, unowned or expired). */
export async function liveOwner(sql: Sql, specId: string): Promise<string | null> {
  const [row] = await sql<{ owner_node: string }[]>`
    select owner_node from spec_actors
    where spec_id = ${specId} and final = false and owner_node is not null and lease_expires_at > now()`
  return row?.owner_node ?? null
}
