import type { Sql } from './connect.ts'

export type TicketStatus = 'backlog' | 'building' | 'testing' | 'done' | 'blocked' | 'cancelled'
export type TaskStatus = 'pending' | 'queued' | 'running' | 'completed' | 'failed' | 'blocked' | 'cancelled'
export const TICKET_STATUSES: TicketStatus[] = ['backlog', 'building', 'testing', 'done', 'blocked', 'cancelled']

export interface TicketRow {
  id: string
  spec_id: string
  user_id: string
  project_id: string | null
  key: string
  title: string
  description: string
  status: TicketStatus
  priority: 'critical' | 'high' | 'medium' | 'low'
  requirements: string[]
  created_at: Date
  updated_at: Date
}

export interface TaskRow {
  id: string
  spec_id: string
  ticket_id: string
  key: string
  title: string
  description: string
  depends_on: string[]
  requirements: string[]
  files: string[]
  estimate_hours: number | null
  status: TaskStatus
  attempts: number
  branch: string | null
  result: Record<string, unknown> | null
  error: string | null
  created_at: Date
  updated_at: Date
}

export interface BoardTicket extends TicketRow {
  spec_title: string
  tasks_total: number
  tasks_completed: number
  branches: string[]
}

/**
 * Tickets the user may see: of their own specs, or of projects they own or belong to.
 * `project_id` narrows to one project.
 */
export async function boardTickets(sql: Sql, userId: string, projectId?: string): Promise<BoardTicket[]> {
  const project = projectId ?? null
  return sql<BoardTicket[]>`
    select t.*, s.title as spec_title,
      (select count(*)::int8 from tasks k where k.ticket_id = t.id) as tasks_total,
      (select count(*)::int8 from tasks k where k.ticket_id = t.id and k.status = 'completed') as tasks_completed,
      coalesce((select jsonb_agg(k.branch order by k.key) from tasks k where k.ticket_id = t.id and k.branch is not null), '[]') as branches
    from tickets t
    join specs s on s.id = t.spec_id
    left join projects p on p.id = t.project_id
    left join project_members m on m.project_id = t.project_id and m.user_id = ${userId}
    where (t.user_id = ${userId} or p.owner_id = ${userId} or m.user_id is not null)
      and (${project}::text is null or t.project_id = ${project}::text)
    order by t.created_at, t.key`
}

/** A ticket the user may see, or null. */
export async function findTicketFor(sql: Sql, ticketId: string, userId: string): Promise<(TicketRow & { spec_title: string }) | null> {
  const [row] = await sql<(TicketRow & { spec_title: string })[]>`
    select t.*, s.title as spec_title from tickets t
    join specs s on s.id = t.spec_id
    left join projects p on p.id = t.project_id
    left join project_members m on m.project_id = t.project_id and m.user_id = ${userId}
    where t.id = ${ticketId} and (t.user_id = ${userId} or p.owner_id = ${userId} or m.user_id is not null)`
  return row ?? null
}

export async function tasksOfTicket(sql: Sql, ticketId: string): Promise<TaskRow[]> {
  return sql<TaskRow[]>`select * from tasks where ticket_id = ${ticketId} order by key`
}

export async function findTaskOfSpec(sql: Sql, specId: string, key: string): Promise<TaskRow | null> {
  const [row] = await sql<TaskRow[]>`select * from tasks where spec_id = ${specId} and key = ${key}`
  return row ?? null
}

/**
 * The spec was cancelled or failed: every task and ticket still unfinished gets the final status `cancelled` (blocked,
 * failed, completed and done ones keep theirs). Run in the transaction that stores the spec's new status.
 */
export async function cancelUnfinishedWork(tx: Sql, specId: string): Promise<void> {
  await tx`update tasks set status = 'cancelled', updated_at = now()
    where spec_id = ${specId} and status in ('pending', 'queued', 'running')`
  await tx`update tickets set status = 'cancelled', updated_at = now()
    where spec_id = ${specId} and status in ('backlog', 'building', 'testing')`
}

/** A spec's tasks (key and title), in key order. */
export async function taskTitlesOfSpec(sql: Sql, specId: string): Promise<{ key: string; title: string }[]> {
  return sql<{ key: string; title: string }[]>`select key, title from tasks where spec_id = ${specId} order by key`
}
