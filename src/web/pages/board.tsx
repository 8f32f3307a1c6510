import { useSignal } from '@preact/signals'
import { useEffect, useRef } from 'preact/hooks'
import { api } from '../api.ts'
import { ErrorBanner } from '../components/error-banner.tsx'
import { StatusBadge } from '../components/status-badge.tsx'
import { formatTime } from '../lib/format.ts'
import { specPath } from '../lib/routes.ts'
import {
  COLUMN_LABELS,
  boardSpecIds,
  normalizeBoard,
  ticketBranches,
  ticketProgress,
  ticketSpecId,
  ticketSpecTitle,
} from '../lib/tickets.ts'
import { query, setQuery } from '../router.ts'
import { startBoardLive, type BoardLive } from '../state/board-live.ts'
import { loadProjects, projects, projectsError } from '../state/projects.ts'
import type { Board, Ticket } from '../types.ts'

/** `/board`: the caller's tickets by status, optionally for one project, kept fresh live. */
export function BoardPage() {
  const projectId = query.value.get('project_id') ?? ''
  const board = useSignal<Board | null>(null)
  const error = useSignal<unknown>(null)
  const loading = useSignal(false)
  const updatedAt = useSignal<string | null>(null)
  const live = useRef<BoardLive | null>(null)
  const latest = useRef(0)

  const load = async () => {
    const ticket = ++latest.current
    loading.value = true
    try {
      const b = await api.board(projectId || null)
      if (ticket !== latest.current) return // a newer load (other filter) won
      board.value = b
      error.value = null
      updatedAt.value = new Date().toISOString()
      live.current?.watch(boardSpecIds(normalizeBoard(b)))
    } catch (err) {
      if (ticket === latest.current) error.value = err
    } finally {
      if (ticket === latest.current) loading.value = false
    }
  }
  const loadRef = useRef(load)
  loadRef.current = load

  useEffect(() => void loadProjects(), [])
  useEffect(() => {
    live.current = startBoardLive(() => void loadRef.current())
    return () => {
      live.current?.stop()
      live.current = null
    }
  }, [])
  useEffect(() => {
    board.value = null
    void load()
  }, [projectId])

  const columns = normalizeBoard(board.value)
  const total = columns.reduce((n, c) => n + c.tickets.length, 0)

  // On a narrow screen one column fills the view: open on the first that has tickets, not an empty backlog.
  const boardEl = useRef<HTMLDivElement>(null)
  const opened = useRef(false)
  const firstFull = columns.find((c) => c.tickets.length > 0)?.status ?? null
  useEffect(() => {
    const el = boardEl.current
    if (opened.current || !el || !firstFull) return
    opened.current = true
    const col = el.querySelector<HTMLElement>(`[data-testid="board-column-${firstFull}"]`)
    if (col && el.scrollWidth > el.clientWidth) el.scrollLeft = col.offsetLeft - el.offsetLeft
  }, [firstFull])
  return (
    <div class="page page--wide">
      <header class="page__head">
        <h1 tabIndex={-1} data-page-title>
          Board
        </h1>
        <div class="page__tools">
          <label class="inline-field">
            <span>Project</span>
            <select data-testid="board-project-filter" value={projectId} onChange={(e) => setQuery({ project_id: e.currentTarget.value || null })}>
              <option value="">All projects</option>
              {projects.value.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" class="btn btn--small btn--ghost" onClick={() => void load()} disabled={loading.value} data-testid="board-refresh">
            {loading.value ? 'Refreshing…' : 'Refresh'}
          </button>
          {updatedAt.value ? (
            <span class="muted small" data-testid="board-updated">
              Updated {formatTime(updatedAt.value)}
            </span>
          ) : null}
        </div>
      </header>
      {projectsError.value ? (
        <p class="field__error" role="alert">
          Could not load projects for the filter: {projectsError.value}
        </p>
      ) : null}
      <ErrorBanner error={error.value} testid="board-error" onRetry={() => void load()} />
      {board.value && total === 0 ? (
        <p class="muted" data-testid="board-empty">
          No tickets yet. <a href="/">Launch a spec or a quick task</a> and they show up here.
        </p>
      ) : null}
      <div class="board" data-testid="board" ref={boardEl} tabIndex={0} aria-label="Tickets by status" aria-busy={loading.value && !board.value}>
        {columns.map((c) => (
          <section key={c.status} class={`column column--${c.status}`} data-testid={`board-column-${c.status}`} aria-labelledby={`col-${c.status}`}>
            <h2 id={`col-${c.status}`} class="column__title">
              {COLUMN_LABELS[c.status] ?? c.status} <span class="count">{c.tickets.length}</span>
            </h2>
            <ul class="column__list">
              {c.tickets.map((t) => (
                <TicketCard key={t.id} ticket={t} />
              ))}
            </ul>
          </section>
        ))}
      </div>
    </div>
  )
}

function TicketCard(props: { ticket: Ticket }) {
  const t = props.ticket
  const progress = ticketProgress(t)
  const branches = ticketBranches(t)
  const specId = ticketSpecId(t)
  const specTitle = ticketSpecTitle(t)
  return (
    <li class="ticket" data-testid="board-ticket" data-ticket-id={t.id} data-status={t.status}>
      <h3 class="ticket__title" data-testid="ticket-title">
        {t.title}
      </h3>
      {specTitle || specId ? (
        <p class="ticket__spec">
          {specId ? (
            <a href={specPath(specId)} data-testid="ticket-spec">
              {specTitle ?? 'Open spec'}
            </a>
          ) : (
            <span data-testid="ticket-spec">{specTitle}</span>
          )}
        </p>
      ) : null}
      {progress ? (
        <div class="ticket__progress">
          <progress max={progress.total || 1} value={progress.completed} aria-label="Tasks completed" />
          <span data-testid="ticket-progress">
            {progress.completed}/{progress.total} tasks
          </span>
        </div>
      ) : null}
      <div class="ticket__foot">
        {t.priority ? <span class={`badge badge--prio-${t.priority}`}>{t.priority}</span> : null}
        {t.status === 'blocked' ? <StatusBadge status="blocked" /> : null}
      </div>
      {branches.length ? (
        <ul class="chips" data-testid="ticket-branches">
          {branches.map((b) => (
            <li key={b} class="chip chip--code" title={b}>
              {b}
            </li>
          ))}
        </ul>
      ) : null}
    </li>
  )
}
