import type { Board, Task, Ticket, TicketStatus } from '../types.ts'

/** The board's columns, left to right. */
export const COLUMN_ORDER: readonly TicketStatus[] = ['backlog', 'building', 'testing', 'done', 'blocked']

export const COLUMN_LABELS: Record<TicketStatus, string> = {
  backlog: 'Backlog',
  building: 'Building',
  testing: 'Testing',
  done: 'Done',
  blocked: 'Blocked',
}

/** Every column in {@link COLUMN_ORDER}, empty ones included; columns the server adds beyond those keep their place after. */
export function normalizeBoard(board: Board | null): Board['columns'] {
  const given = new Map((board?.columns ?? []).map((c) => [c.status, c.tickets ?? []]))
  const columns = COLUMN_ORDER.map((status) => ({ status, tickets: given.get(status) ?? [] }))
  for (const [status, tickets] of given) if (!COLUMN_ORDER.includes(status)) columns.push({ status, tickets })
  return columns
}

export interface Progress {
  completed: number
  total: number
}

/** "2/4 tasks": from the ticket's counts if the server sent them, else from its tasks. Null when it has no task info. */
export function ticketProgress(ticket: Ticket): Progress | null {
  if (ticket.task_progress) return ticket.task_progress
  if (typeof ticket.tasks_total === 'number') return { completed: ticket.tasks_completed ?? 0, total: ticket.tasks_total }
  if (Array.isArray(ticket.tasks)) {
    return { completed: ticket.tasks.filter((t) => t.status === 'completed').length, total: ticket.tasks.length }
  }
  return null
}

/** The git branches a ticket's work is on, without repeats. */
export function ticketBranches(ticket: Ticket): string[] {
  const branches = ticket.branches ?? (ticket.tasks ?? []).map((t) => t.branch)
  return [...new Set(branches.filter((b): b is string => typeof b === 'string' && b.length > 0))]
}

export function ticketSpecId(ticket: Ticket): string | null {
  return ticket.spec_id ?? ticket.spec?.id ?? null
}

export function ticketSpecTitle(ticket: Ticket): string | null {
  return ticket.spec_title ?? ticket.spec?.title ?? null
}

/** The distinct specs whose tickets are on the board, for joining their rooms. */
export function boardSpecIds(columns: Board['columns']): string[] {
  const ids = new Set<string>()
  for (const c of columns) for (const t of c.tickets) {
    const id = ticketSpecId(t)
    if (id) ids.add(id)
  }
  return [...ids].sort()
}

/** The planner's id of a ticket or task (`TKT-001`, `TSK-001`), under whichever field the server keeps it. */
export function planIdOf(item: Pick<Task, 'plan_id' | 'key' | 'ref' | 'external_id'>): string | null {
  return item.plan_id ?? item.key ?? item.ref ?? item.external_id ?? null
}

const titleKey = (title: string) => `title:${title.trim().toLowerCase()}`

/**
 * Looks up live tickets/tasks (with status and branch) for the items of the `tasks` artifact: by plan id when the server
 * keeps one, else by title.
 */
export function liveIndex<T extends Pick<Task, 'title' | 'plan_id' | 'key' | 'ref' | 'external_id'>>(items: readonly T[]) {
  const map = new Map<string, T>()
  for (const item of items) {
    const id = planIdOf(item)
    if (id) map.set(id, item)
    map.set(titleKey(item.title), item)
  }
  return (planned: { id: string; title: string }): T | undefined => map.get(planned.id) ?? map.get(titleKey(planned.title))
}
