import { useSignal } from '@preact/signals'
import { liveIndex, ticketBranches } from '../lib/tickets.ts'
import type { Ack, Task, Tasks, Ticket } from '../types.ts'
import { NotYet } from './artifact-panels.tsx'
import { StatusBadge } from './status-badge.tsx'

type PlannedTask = Tasks['tasks'][number]

/**
 * The planned tickets and tasks with their dependencies, and each one's live status and branch from the ticket
 * endpoints once SYNC has written them.
 */
export function TasksPanel(props: {
  plan: Tasks | null
  live: Ticket[] | null
  liveError: string | null
  canRetry: boolean
  onRetryTask: (taskId: string) => Promise<Ack>
  /** Opens the changes view on one task's own commits; absent until the spec has a delivery. */
  onShowChanges?: (taskId: string) => void
}) {
  const { plan, live } = props
  const retrying = useSignal<string | null>(null)
  const retryError = useSignal<{ taskId: string; message: string } | null>(null)
  if (!plan) return <NotYet what="tasks" testid="artifact-tasks" />
  const liveTasks: Task[] = (live ?? []).flatMap((t) => t.tasks ?? [])
  const findTask = liveIndex(liveTasks)
  const findTicket = liveIndex(live ?? [])
  const byId = new Map(plan.tasks.map((t) => [t.id, t]))
  const ticketIds = new Set(plan.tickets.map((t) => t.id))
  const orphans = plan.tasks.filter((t) => !ticketIds.has(t.ticket))

  const taskRow = (t: PlannedTask) => {
    const liveTask = findTask(t)
    const status = liveTask?.status ?? 'planned'
    return (
      <li key={t.id} class="task" data-testid="plan-task" data-task-id={t.id} data-status={status}>
        <div class="task__head">
          <code class="id">{t.id}</code>
          <span class="task__title">{t.title}</span>
          <StatusBadge status={status} />
        </div>
        <p class="task__desc">{t.description}</p>
        <p class="task__meta">
          {t.depends_on?.length ? (
            <span data-testid="task-deps">
              after{' '}
              {t.depends_on.map((d, i) => {
                const dep = byId.get(d)
                const depStatus = dep ? findTask(dep)?.status : undefined
                return (
                  <span key={d}>
                    {i > 0 ? ', ' : ''}
                    <code title={dep?.title}>{d}</code>
                    {depStatus ? <span class="muted"> ({depStatus})</span> : null}
                  </span>
                )
              })}
            </span>
          ) : (
            <span class="muted">no dependencies</span>
          )}
          {typeof t.estimate_hours === 'number' ? <span>~{t.estimate_hours}h</span> : null}
          {t.requirements?.length ? <span>covers {t.requirements.join(', ')}</span> : null}
          {liveTask?.branch ? (
            <span>
              branch <code>{liveTask.branch}</code>
            </span>
          ) : null}
        </p>
        {t.files?.length ? (
          <ul class="chips">
            {t.files.map((f) => (
              <li key={f} class="chip chip--code">
                {f}
              </li>
            ))}
          </ul>
        ) : null}
        {props.onShowChanges && liveTask?.status === 'completed' ? (
          <button type="button" class="btn btn--small btn--ghost" data-testid="task-changes" onClick={() => props.onShowChanges!(t.id)}>
            Changes of {t.id}
          </button>
        ) : null}
        {props.canRetry && liveTask && liveTask.status === 'failed' ? (
          <button
            type="button"
            class="btn btn--small"
            data-testid="task-retry"
            disabled={retrying.value !== null}
            onClick={async () => {
              retrying.value = liveTask.id
              retryError.value = null
              const ack = await props.onRetryTask(liveTask.id)
              retrying.value = null
              if (!ack.ok) retryError.value = { taskId: liveTask.id, message: ack.error.message }
            }}
          >
            {retrying.value === liveTask.id ? 'Retrying…' : 'Retry this task'}
          </button>
        ) : null}
        {liveTask && retryError.value?.taskId === liveTask.id ? (
          <p class="field__error" role="alert" data-testid="task-retry-error">
            {retryError.value.message}
          </p>
        ) : null}
      </li>
    )
  }

  return (
    <div class="artifact" data-testid="artifact-tasks">
      {props.liveError ? (
        <p class="field__error" role="alert" data-testid="tasks-live-error">
          Live task status is unavailable: {props.liveError}
        </p>
      ) : null}
      <ol class="cards">
        {plan.tickets.map((ticket) => {
          const liveTicket = findTicket(ticket)
          const branches = liveTicket ? ticketBranches(liveTicket) : []
          return (
            <li key={ticket.id} class="card" data-testid="plan-ticket" data-ticket-id={ticket.id}>
              <header class="card__head">
                <code class="id">{ticket.id}</code>
                <h3 class="card__title">{ticket.title}</h3>
                <span class={`badge badge--prio-${ticket.priority}`}>{ticket.priority}</span>
                {liveTicket ? <StatusBadge status={liveTicket.status} testid="plan-ticket-status" /> : null}
              </header>
              <p>{ticket.description}</p>
              {branches.length ? (
                <p class="task__meta">
                  branches:{' '}
                  {branches.map((b) => (
                    <code key={b} class="chip chip--code">
                      {b}
                    </code>
                  ))}
                </p>
              ) : null}
              <ol class="tasks">{plan.tasks.filter((t) => t.ticket === ticket.id).map(taskRow)}</ol>
            </li>
          )
        })}
        {orphans.length ? (
          <li class="card">
            <h3 class="card__title">Tasks without a ticket</h3>
            <ol class="tasks">{orphans.map(taskRow)}</ol>
          </li>
        ) : null}
      </ol>
    </div>
  )
}
