import type { Sql } from './connect.ts'

export interface ActorRow {
  spec_id: string
  snapshot: unknown
  version: number
  state: string
  final: boolean
  owner_node: string | null
  lease_expires_at: Date | null
  started_at: Date
  updated_at: Date
}

export const LEASE_MS = 30_000

export async function saveActor(
  sql: Sql,
  a: { spec_id: string; snapshot: unknown; version: number; state: string; final: boolean; node: string },
): Promise<void> {
  await sql`
    insert into spec_actors (spec_id, snapshot, version, state, final, owner_node, lease_expires_at)
    values (${a.spec_id}, ${sql.json(a.snapshot as never)}, ${a.version}, ${a.state}, ${a.final}, ${a.node},
            now() + ${LEASE_MS / 1000} * interval '1 second')
    on conflict (spec_id) do update set snapshot = excluded.snapshot, version = excluded.version, state = excluded.state,
      final = excluded.final, owner_node = excluded.owner_node, lease_expires_at = excluded.lease_expires_at, updated_at = now()`
}

export async function loadActor(sql: Sql, specId: string): Promise<ActorRow | null> {
  const [row] = await sql<ActorRow[]>`select * from spec_actors where spec_id = ${specId}`
  return row ?? null
}

/**
 * Claims the leases of unfinished actors this node may run: its own, unowned, or expired ones (every one, when
 * `all`: a single node owns everything). Returns the claimed rows.
 */
export async function claimActors(sql: Sql, node: string, all: boolean, limit = 100_000): Promise<ActorRow[]> {
  return sql<ActorRow[]>`
    update spec_actors set owner_node = ${node}, lease_expires_at = now() + ${LEASE_MS / 1000} * interval '1 second'
    where spec_id in (
      select spec_id from spec_actors
      where final = false and (${all} or owner_node is null or owner_node = ${node} or lease_expires_at < now())
      limit ${limit}
    )
    returning *`
}

export async function renewLeases(sql: Sql, node: string): Promise<void> {
  await sql`update spec_actors set lease_expires_at = now() + ${LEASE_MS / 1000} * interval '1 second'
    where owner_node = ${node} and final = false`
}

export async function releaseLeases(sql: Sql, node: string): Promise<void> {
  await sql`update spec_actors set lease_expires_at = now() where owner_node = ${node}`
}
