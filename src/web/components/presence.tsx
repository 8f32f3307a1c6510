import type { Viewer } from '../types.ts'

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean)
  return ((parts[0]?.[0] ?? '?') + (parts.length > 1 ? (parts[parts.length - 1]![0] ?? '') : '')).toUpperCase()
}

/** Who is watching the room now (from `spec:presence`); one entry per person however many tabs they have open. */
export function PresenceList(props: { viewers: Viewer[]; meId: string | null }) {
  const unique = [...new Map(props.viewers.map((v) => [v.user_id, v])).values()]
  return (
    <section class="panel presence" aria-labelledby="presence-title" data-testid="presence">
      <h2 id="presence-title" class="panel__title">
        Watching <span class="count" data-testid="presence-count">{unique.length}</span>
      </h2>
      {unique.length === 0 ? (
        <p class="muted">Nobody else right now.</p>
      ) : (
        <ul class="presence__list" data-testid="presence-list">
          {unique.map((v) => (
            <li key={v.user_id} class="presence__viewer" data-testid="presence-viewer" data-user-id={v.user_id}>
              <span class="avatar" aria-hidden="true">
                {initials(v.name)}
              </span>
              <span>
                {v.name}
                {v.user_id === props.meId ? <span class="muted"> (you)</span> : null}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
