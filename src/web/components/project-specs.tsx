import { useSignal } from '@preact/signals'
import { useEffect, useRef } from 'preact/hooks'
import { api, errorMessage } from '../api.ts'
import { formatDateTime } from '../lib/format.ts'
import { specPath } from '../lib/routes.ts'
import type { Spec, SpecStatus } from '../types.ts'
import { StatusBadge } from './status-badge.tsx'

const PAGE = 20
const STATUSES: SpecStatus[] = ['draft', 'executing', 'awaiting_approval', 'paused', 'completed', 'failed', 'cancelled']

/** The project's specs, newest first: filter by status, search titles, page through them. */
export function ProjectSpecs(props: { projectId: string }) {
  const status = useSignal('')
  const q = useSignal('')
  const offset = useSignal(0)
  const page = useSignal<{ specs: Spec[]; total: number } | null>(null)
  const error = useSignal<string | null>(null)
  const latest = useRef(0)

  useEffect(() => {
    const ticket = ++latest.current
    const timer = setTimeout(() => {
      api.projectSpecPage(props.projectId, { status: status.value || undefined, q: q.value.trim() || undefined, limit: PAGE, offset: offset.value }).then(
        (p) => ticket === latest.current && ((page.value = p), (error.value = null)),
        (err) => ticket === latest.current && (error.value = errorMessage(err)),
      )
    }, 200) // typing a search waits for a pause
    return () => clearTimeout(timer)
  }, [props.projectId, status.value, q.value, offset.value])

  const p = page.value
  const from = p && p.total > 0 ? offset.value + 1 : 0
  const to = p ? offset.value + p.specs.length : 0
  return (
    <section class="panel" aria-labelledby="specs-title" data-testid="project-specs">
      <h2 id="specs-title" class="panel__title">
        Specs
      </h2>
      <div class="page__tools">
        <label class="inline-field">
          <span>Status</span>
          <select
            data-testid="specs-status"
            value={status.value}
            onChange={(e) => {
              status.value = e.currentTarget.value
              offset.value = 0
            }}
          >
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label class="inline-field">
          <span>Search titles</span>
          <input
            type="search"
            data-testid="specs-search"
            value={q.value}
            onInput={(e) => {
              q.value = e.currentTarget.value
              offset.value = 0
            }}
          />
        </label>
      </div>
      {error.value ? (
        <p class="field__error" role="alert" data-testid="specs-error">
          Could not load the specs: {error.value}
        </p>
      ) : null}
      {p && p.specs.length === 0 ? <p class="muted" data-testid="specs-empty">No spec matches.</p> : null}
      {p && p.specs.length > 0 ? (
        <ul class="recent__list" data-testid="specs-list">
          {p.specs.map((s) => (
            <li key={s.id} data-testid="project-spec">
              <a href={specPath(s.id)} class="wrap-anywhere">
                {s.title}
              </a>
              <StatusBadge status={s.status} />
              <span class="muted small">{formatDateTime(s.created_at)}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {p && p.total > 0 ? (
        <nav class="pager" aria-label="Pages of specs">
          <button type="button" class="btn btn--small" disabled={offset.value === 0} onClick={() => (offset.value = Math.max(0, offset.value - PAGE))}>
            Newer
          </button>
          <span class="muted small" data-testid="specs-range" aria-live="polite">
            {from}–{to} of {p.total}
          </span>
          <button type="button" class="btn btn--small" data-testid="specs-next" disabled={to >= p.total} onClick={() => (offset.value += PAGE)}>
            Older
          </button>
        </nav>
      ) : null}
    </section>
  )
}
