import type { Sql } from './connect.ts'

export interface SandboxRow {
  id: string
  spec_id: string
  /** `check`: the check on the spec branch (src/actors/check-sandbox.ts), which has no token and no worker. */
  kind: 'phase' | 'task' | 'check'
  phase: string | null
  task_id: string | null
  attempt: number
  generation: number
  /** Null for a check sandbox: nothing in it calls the server. */
  token_hash: string | null
  status: 'starting' | 'running' | 'ended'
  provider: string
  external_id: string | null
  end_reason: string | null
  last_heartbeat_at: Date | null
  created_at: Date
  ended_at: Date | null
}

export async function insertSandbox(
  sql: Sql,
  s: Pick<SandboxRow, 'id' | 'spec_id' | 'kind' | 'phase' | 'task_id' | 'attempt' | 'generation' | 'token_hash' | 'provider'>,
): Promise<SandboxRow> {
  const [row] = await sql<SandboxRow[]>`
    insert into sandboxes ${sql(s, 'id', 'spec_id', 'kind', 'phase', 'task_id', 'attempt', 'generation', 'token_hash', 'provider')}
    returning *`
  return row!
}

/** The not-ended sandbox of one phase attempt or task attempt (and generation), if any: re-attach before creating. */
export async function findLiveSandbox(
  sql: Sql,
  key: { spec_id: string; kind: 'phase' | 'task'; name: string; attempt: number; generation: number },
): Promise<SandboxRow | null> {
  const [row] = await sql<SandboxRow[]>`
    select * from sandboxes
    where spec_id = ${key.spec_id} and kind = ${key.kind} and attempt = ${key.attempt} and generation = ${key.generation}
      and (case when ${key.kind} = 'phase' then phase else task_id end) = ${key.name}
      and status <> 'ended'
    order by created_at desc limit 1`
  return row ?? null
}

export async function findSandbox(sql: Sql, id: string): Promise<SandboxRow | null> {
  const [row] = await sql<SandboxRow[]>`select * from sandboxes where id = ${id}`
  return row ?? null
}

export async function markSandboxRunning(sql: Sql, id: string, externalId: string): Promise<void> {
  await sql`update sandboxes set status = 'running', external_id = ${externalId}, last_heartbeat_at = coalesce(last_heartbeat_at, now())
    where id = ${id} and status <> 'ended'`
}

/** Ends a sandbox: its token stops working at once. Returns false when it had already ended. */
export async function endSandbox(sql: Sql, id: string, reason: string): Promise<boolean> {
  const rows = await sql`update sandboxes set status = 'ended', end_reason = ${reason}, ended_at = now()
    where id = ${id} and status <> 'ended' returning id`
  return rows.length > 0
}

export async function touchHeartbeat(sql: Sql, id: string): Promise<void> {
  await sql`update sandboxes set last_heartbeat_at = now() where id = ${id} and status <> 'ended'`
}

/** The check sandboxes of a spec that have not ended (a check cut short by a restart leaves one behind). */
export async function liveCheckSandboxes(sql: Sql, specId: string): Promise<SandboxRow[]> {
  return sql<SandboxRow[]>`select * from sandboxes where spec_id = ${specId} and kind = 'check' and status <> 'ended' order by created_at`
}

/** How many task sandboxes are not ended: a spec's (for its limit) or all of them. */
export async function countLiveTaskSandboxes(sql: Sql, specId?: string): Promise<number> {
  const spec = specId ?? null
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int8 as n from sandboxes where kind = 'task' and status <> 'ended' and (${spec}::text is null or spec_id = ${spec}::text)`
  return row?.n ?? 0
}
