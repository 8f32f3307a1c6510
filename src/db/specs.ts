import type { Sql } from './connect.ts'
import type { SpecPhase } from '../schemas/phase-outputs.ts'

export type SpecStatus = 'draft' | 'executing' | 'paused' | 'awaiting_approval' | 'completed' | 'failed' | 'cancelled'

export interface PhaseSummary {
  phase: string
  status: 'pending' | 'running' | 'awaiting_approval' | 'completed' | 'failed' | 'cancelled'
  attempts: number
  eval_score: number | null
  started_at: string | null
  ended_at: string | null
}

export interface SpecRow {
  id: string
  project_id: string | null
  user_id: string
  title: string
  description: string
  status: SpecStatus
  current_phase: SpecPhase
  approval: 'auto' | 'manual'
  budget_usd: number | null
  cost_usd: number
  input_tokens: number
  output_tokens: number
  cache_read_tokens: number
  cache_write_tokens: number
  last_seq: number
  kind: 'spec' | 'quick'
  phases: PhaseSummary[]
  /** The check command this spec runs (the project's, or the one EXPLORE found); null: none or not yet known. */
  check_command?: string | null
  /** What the spec delivered so far (src/actors/delivery-actors.ts writes it); null before execution. */
  delivery?: StoredDelivery | null
  created_at: Date
  updated_at: Date
}

/** What the caller may do with a spec: owner and editor steer it, viewer reads and watches. */
export type SpecAccess = 'owner' | 'editor' | 'viewer'

export interface SpecWithAccess extends SpecRow {
  access: SpecAccess
}

export const FINAL_STATUSES: readonly SpecStatus[] = ['completed', 'failed', 'cancelled']

export async function insertSpec(
  sql: Sql,
  s: Pick<SpecRow, 'id' | 'project_id' | 'user_id' | 'title' | 'description' | 'approval' | 'budget_usd' | 'kind'>,
): Promise<SpecRow> {
  const [row] = await sql<SpecRow[]>`
    insert into specs ${sql(s, 'id', 'project_id', 'user_id', 'title', 'description', 'approval', 'budget_usd', 'kind')}
    returning *`
  return row!
}

export async function findSpec(sql: Sql, specId: string): Promise<SpecRow | null> {
  const [row] = await sql<SpecRow[]>`select * from specs where id = ${specId}`
  return row ?? null
}

/** The spec and the user's access to it; null when the user may not see it (callers answer 404). */
export async function findSpecFor(sql: Sql, specId: string, userId: string): Promise<SpecWithAccess | null> {
  const [row] = await sql<SpecWithAccess[]>`
    select s.*,
      case when s.user_id = ${userId} then 'owner'
           when p.owner_id = ${userId} then 'editor'
           else m.role end as access
    from specs s
    left join projects p on p.id = s.project_id
    left join project_members m on m.project_id = s.project_id and m.user_id = ${userId}
    where s.id = ${specId}
      and (s.user_id = ${userId} or p.owner_id = ${userId} or m.user_id is not null)`
  return row ?? null
}

/** A page of a project's specs, newest first, optionally of one status and with `q` in the title (case-insensitive). */
export async function listSpecsForProject(
  sql: Sql,
  projectId: string,
  filter: { status?: SpecStatus; q?: string; limit?: number; offset?: number } = {},
): Promise<{ specs: SpecRow[]; total: number }> {
  const status = filter.status ?? null
  const like = filter.q ? `%${filter.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%` : null
  const where = sql`project_id = ${projectId}
    and (${status}::text is null or status = ${status})
    and (${like}::text is null or title ilike ${like})`
  const specs = await sql<SpecRow[]>`
    select * from specs where ${where} order by created_at desc, id desc limit ${filter.limit ?? 1000} offset ${filter.offset ?? 0}`
  const [count] = await sql<{ n: number }[]>`select count(*)::int as n from specs where ${where}`
  return { specs, total: count!.n }
}

/** The plan ids (TSK-…) of a spec's completed tasks. */
export async function completedTaskKeys(sql: Sql, specId: string): Promise<string[]> {
  const rows = await sql<{ key: string }[]>`select key from tasks where spec_id = ${specId} and status = 'completed'`
  return rows.map((r) => r.key)
}

/** Sets a spec's budget (USD; null: no limit). */
export async function setSpecBudget(sql: Sql, specId: string, budgetUsd: number | null): Promise<SpecRow> {
  const [row] = await sql<SpecRow[]>`update specs set budget_usd = ${budgetUsd}, updated_at = now() where id = ${specId} returning *`
  return row!
}

/** Written by the actor host in the same transaction as the snapshot. Answers the row and the status it had before. */
export async function updateSpecState(
  sql: Sql,
  specId: string,
  state: { status: SpecStatus; current_phase: SpecPhase; phases: PhaseSummary[] },
): Promise<SpecRow & { previous_status: SpecStatus }> {
  const [row] = await sql<(SpecRow & { previous_status: SpecStatus })[]>`
    with before as (select status from specs where id = ${specId} for update)
    update specs set status = ${state.status}, current_phase = ${state.current_phase},
      phases = ${sql.json(state.phases as never)}, updated_at = now()
    where id = ${specId} returning specs.*, (select status from before) as previous_status`
  return row!
}

/**
 * The phases summary of a spec that has just been cancelled or failed: a phase still running or awaiting approval
 * ends with it (`cancelled`, or `failed`), with an end time.
 */
export function endUnfinishedPhases(phases: PhaseSummary[], status: 'cancelled' | 'failed', at: string): PhaseSummary[] {
  return phases.map((p) =>
    p.status === 'running' || p.status === 'awaiting_approval' ? { ...p, status, ended_at: p.ended_at ?? at } : p,
  )
}

/** Adds priced usage to the spec; returns the new totals. */
/**
 * Adds one model call's cost and tokens to its spec, unless the spec was cancelled: nothing is charged after a cancel.
 * Answers the totals, or null when nothing was added.
 */
export async function addUsage(
  sql: Sql,
  specId: string,
  usage: { cost_usd: number; input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_write_tokens: number },
): Promise<Pick<SpecRow, 'cost_usd' | 'budget_usd' | 'input_tokens' | 'output_tokens'> | null> {
  const [row] = await sql<SpecRow[]>`
    update specs set cost_usd = cost_usd + ${usage.cost_usd}, input_tokens = input_tokens + ${usage.input_tokens},
      output_tokens = output_tokens + ${usage.output_tokens}, cache_read_tokens = cache_read_tokens + ${usage.cache_read_tokens},
      cache_write_tokens = cache_write_tokens + ${usage.cache_write_tokens}, updated_at = now()
    where id = ${specId} and status <> 'cancelled' returning cost_usd, budget_usd, input_tokens, output_tokens`
  return row ?? null
}

export async function findSpecs(sql: Sql, ids: string[]): Promise<SpecRow[]> {
  if (ids.length === 0) return []
  return sql<SpecRow[]>`select * from specs where id = any(${ids})`
}

/** What the joins of one spec read together (src/sockets/join-reads.ts), besides the replay. */
export interface SpecAccessRead {
  /** null: no such spec. */
  spec: SpecRow | null
  /** Each asking user who may see the spec, with their access; the others are missing. */
  access: Map<string, SpecAccess>
}

/**
 * One statement for a crowd's joins of a spec: the spec row once and the access of each of `userIds` (owner of the
 * spec, editor as the project's owner, else their membership role). Reads by key only, so that it may run on
 * `Database.keySql` (a cached plan); the replay is read apart (`eventsAfter` up to the spec's `last_seq`).
 */
export async function readSpecAccess(sql: Sql, specId: string, userIds: string[]): Promise<SpecAccessRead> {
  const [row] = await sql<(SpecRow & { join_access: Record<string, SpecAccess> })[]>`
    select s.*,
      coalesce((
        select jsonb_object_agg(u.id, case when s.user_id = u.id then 'owner' when p.owner_id = u.id then 'editor' else m.role end)
        from unnest(${userIds}::text[]) as u(id)
        left join project_members m on m.project_id = s.project_id and m.user_id = u.id
        where s.user_id = u.id or p.owner_id = u.id or m.user_id is not null
      ), '{}'::jsonb) as join_access
    from specs s left join projects p on p.id = s.project_id
    where s.id = ${specId}`
  if (!row) return { spec: null, access: new Map() }
  const { join_access: access, ...spec } = row
  return { spec, access: new Map(Object.entries(access)) }
}

/** specs.delivery as stored: the CONTRACT §4 `delivery` plus the base commit diffs are taken against. */
export interface StoredDelivery {
  branch: string
  base: string
  base_commit: string
  commit: string
  check: { command: string; passed: boolean; duration_ms: number } | null
  files_changed: number
  insertions: number
  deletions: number
  pull_request: { url: string; number: number } | null
}

/** Merges `patch` into the spec's delivery (and sets its check command, when given). */
export async function updateDelivery(sql: Sql, specId: string, patch: Partial<StoredDelivery>, checkCommand?: string | null): Promise<void> {
  await sql`update specs set delivery = coalesce(delivery, '{}'::jsonb) || ${sql.json(patch as never)}::jsonb,
      check_command = case when ${checkCommand !== undefined} then ${checkCommand ?? null}::text else check_command end
    where id = ${specId}`
}
