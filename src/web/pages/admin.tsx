import { useEffect, useMemo } from 'preact/hooks'
import { ConnectionIndicator } from '../components/connection-indicator.tsx'
import { ErrorBanner } from '../components/error-banner.tsx'
import { JsonView } from '../components/json-view.tsx'
import { formatDateTime, formatTime, preview } from '../lib/format.ts'
import { specPath } from '../lib/routes.ts'
import { createAdminState, type AdminState } from '../state/admin.ts'
import { me } from '../state/auth.ts'

/** `/admin`: every live spec actor, transitions as they happen, and one actor's snapshot. Role `admin` only. */
export function AdminPage() {
  if (me.value?.role !== 'admin') {
    return (
      <div class="page">
        <h1 tabIndex={-1} data-page-title>
          Admin
        </h1>
        <p class="error-banner" role="alert" data-testid="admin-forbidden">
          This page is for administrators. Ask an admin to add your email to OMOI_ADMIN_EMAILS.
        </p>
      </div>
    )
  }
  return <AdminConsole />
}

const show = (v: unknown) => (typeof v === 'string' ? v : preview(v, 80))

function AdminConsole() {
  const admin = useMemo(() => createAdminState(), [])
  useEffect(() => admin.start(), [admin])
  const actors = admin.actors.value

  return (
    <div class="page page--wide admin">
      <header class="page__head">
        <h1 tabIndex={-1} data-page-title>
          Actors
        </h1>
        <div class="page__tools">
          <ConnectionIndicator connection={admin.connection.value} testid="admin-connection" />
          <button type="button" class="btn btn--small btn--ghost" onClick={() => void admin.refresh()} data-testid="actors-refresh">
            Refresh
          </button>
        </div>
      </header>
      <ErrorBanner error={admin.listError.value ? new Error(admin.listError.value.message) : null} testid="actors-error" />
      <div class="admin__grid">
        <section class="panel" aria-labelledby="actors-title">
          <h2 id="actors-title" class="panel__title">
            Spec actors <span class="count">{actors.length}</span>
          </h2>
          {actors.length === 0 ? (
            <p class="muted" data-testid="actors-empty">
              No actors are running.
            </p>
          ) : (
            <div class="table-wrap">
              <table class="table table--rows" data-testid="actors-table">
                <thead>
                  <tr>
                    <th scope="col">Spec</th>
                    <th scope="col">State</th>
                    <th scope="col">Status</th>
                    <th scope="col">Node</th>
                    <th scope="col">Sandbox</th>
                    <th scope="col">Last transition</th>
                  </tr>
                </thead>
                <tbody>
                  {actors.map((a) => (
                    <tr key={a.spec_id} data-testid="actor-row" data-spec-id={a.spec_id} aria-current={admin.selected.value === a.spec_id ? 'true' : undefined}>
                      <td>
                        <button type="button" class="linkish" data-testid="actor-inspect" onClick={() => void admin.inspect(a.spec_id)}>
                          {a.spec_id}
                        </button>
                      </td>
                      <td>
                        <code>{show(a.state)}</code>
                      </td>
                      <td>{a.status}</td>
                      <td>{a.node ?? '–'}</td>
                      <td>{a.sandbox_id ?? '–'}</td>
                      <td>{formatDateTime(a.last_transition_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
        <Inspector admin={admin} />
        <section class="panel" aria-labelledby="transitions-title" data-testid="actor-transitions">
          <h2 id="transitions-title" class="panel__title">
            Transitions <span class="count">{admin.transitions.value.length}</span>
          </h2>
          {admin.transitions.value.length === 0 ? (
            <p class="muted">Waiting for the next transition…</p>
          ) : (
            <ol class="transitions">
              {admin.transitions.value.map((t, i) => (
                <li key={`${t.at}-${t.spec_id}-${i}`} data-testid="actor-transition" data-spec-id={t.spec_id}>
                  <time dateTime={t.at}>{formatTime(t.at)}</time>{' '}
                  <button type="button" class="linkish" onClick={() => void admin.inspect(t.spec_id)}>
                    {t.spec_id}
                  </button>{' '}
                  <code>{show(t.from)}</code> → <code>{show(t.to)}</code> <span class="muted">on {show(t.event)}</span>
                </li>
              ))}
            </ol>
          )}
        </section>
      </div>
    </div>
  )
}

function Inspector(props: { admin: AdminState }) {
  const { admin } = props
  const id = admin.selected.value
  return (
    <section class="panel inspector" aria-labelledby="inspector-title" aria-live="polite">
      <h2 id="inspector-title" class="panel__title">
        Snapshot
      </h2>
      {!id ? (
        <p class="muted">Pick an actor to see its live and persisted snapshots.</p>
      ) : (
        <>
          <p>
            <a href={specPath(id)}>{id}</a> {admin.inspecting.value ? <span class="muted">loading…</span> : null}
          </p>
          {admin.inspectError.value ? (
            <p class="field__error" role="alert" data-testid="actor-inspect-error">
              {admin.inspectError.value.message}
            </p>
          ) : null}
          {admin.snapshot.value !== null ? <JsonView value={admin.snapshot.value} testid="actor-snapshot" label={`Snapshot of ${id}`} /> : null}
        </>
      )}
    </section>
  )
}
