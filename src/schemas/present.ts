import type { ProjectRow, ProjectRole } from '../db/projects.ts'
import type { SpecAccess, SpecRow } from '../db/specs.ts'
import type { BoardTicket, TaskRow, TicketRow } from '../db/tickets.ts'
import { redactUrl } from './fields.ts'

/** Rows as the API shows them (CONTRACT §4): ISO times, no internal columns. Shared by REST and sockets. */

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : d)

export function presentProject(p: ProjectRow & { role?: ProjectRole }) {
  return {
    id: p.id,
    name: p.name,
    owner_id: p.owner_id,
    // rows stored before credentials in repo_url were refused must not show them to every member
    repo_url: p.repo_url === null ? null : redactUrl(p.repo_url),
    default_branch: p.default_branch,
    check_command: p.check_command ?? null,
    ...(p.role ? { role: p.role } : {}),
    created_at: iso(p.created_at),
    updated_at: iso(p.updated_at),
  }
}

export function presentSpec(s: SpecRow, access?: SpecAccess) {
  return {
    id: s.id,
    project_id: s.project_id,
    user_id: s.user_id,
    title: s.title,
    description: s.description,
    kind: s.kind,
    status: s.status,
    current_phase: s.current_phase,
    approval: s.approval,
    budget_usd: s.budget_usd,
    cost_usd: s.cost_usd,
    tokens: {
      input: s.input_tokens,
      output: s.output_tokens,
      total: s.input_tokens + s.output_tokens + Number(s.cache_read_tokens ?? 0) + Number(s.cache_write_tokens ?? 0),
      cache_read: Number(s.cache_read_tokens ?? 0),
      cache_write: Number(s.cache_write_tokens ?? 0),
    },
    last_seq: s.last_seq,
    created_at: iso(s.created_at),
    updated_at: iso(s.updated_at),
    phases: s.phases,
    check_command: s.check_command ?? null,
    delivery: s.delivery
      ? {
          branch: s.delivery.branch,
          base: s.delivery.base,
          commit: s.delivery.commit,
          check: s.delivery.check ?? null,
          files_changed: s.delivery.files_changed ?? 0,
          insertions: s.delivery.insertions ?? 0,
          deletions: s.delivery.deletions ?? 0,
          pull_request: s.delivery.pull_request ?? null,
        }
      : null,
    ...(access ? { access, can_edit: access !== 'viewer' } : {}),
  }
}
export type PresentedSpec = ReturnType<typeof presentSpec>

export function presentTask(t: TaskRow) {
  return {
    id: t.id,
    key: t.key,
    ticket_id: t.ticket_id,
    spec_id: t.spec_id,
    title: t.title,
    description: t.description,
    depends_on: t.depends_on,
    requirements: t.requirements,
    files: t.files,
    estimate_hours: t.estimate_hours,
    status: t.status,
    attempts: t.attempts,
    branch: t.branch,
    result: t.result,
    error: t.error,
    created_at: iso(t.created_at),
    updated_at: iso(t.updated_at),
  }
}

export function presentTicket(t: TicketRow & Partial<Pick<BoardTicket, 'spec_title' | 'tasks_total' | 'tasks_completed' | 'branches'>>) {
  return {
    id: t.id,
    key: t.key,
    spec_id: t.spec_id,
    spec_title: t.spec_title,
    user_id: t.user_id,
    project_id: t.project_id,
    title: t.title,
    description: t.description,
    status: t.status,
    priority: t.priority,
    requirements: t.requirements,
    ...(t.tasks_total !== undefined ? { tasks_total: t.tasks_total, tasks_completed: t.tasks_completed, branches: t.branches } : {}),
    created_at: iso(t.created_at),
    updated_at: iso(t.updated_at),
  }
}
