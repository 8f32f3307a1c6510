import { useSignal } from '@preact/signals'
import { errorMessage } from '../api.ts'
import { route, navigate } from '../router.ts'
import { connection } from '../socket.ts'
import { logout, me } from '../state/auth.ts'
import { ConnectionIndicator } from './connection-indicator.tsx'

/** The top bar: where to go, who is signed in, whether live updates flow. */
export function Nav() {
  const user = me.value
  const current = route.value.name
  const error = useSignal<string | null>(null)
  const busy = useSignal(false)
  if (!user) return null

  const link = (href: string, name: string, label: string, testid: string) => (
    <a href={href} class="nav__link" aria-current={current === name ? 'page' : undefined} data-testid={testid}>
      {label}
    </a>
  )

  const onLogout = async () => {
    busy.value = true
    error.value = null
    try {
      await logout()
      navigate('/login')
    } catch (err) {
      error.value = `Could not log out: ${errorMessage(err)}`
    } finally {
      busy.value = false
    }
  }

  return (
    <header class="topbar">
      <a href="/" class="brand" aria-label="omoi home">
        <span class="brand__mark" aria-hidden="true">
          ◐
        </span>
        omoi
      </a>
      <nav class="nav" aria-label="Main">
        {link('/', 'command', 'New', 'nav-command')}
        {link('/board', 'board', 'Board', 'nav-board')}
        {user.role === 'admin' ? link('/admin', 'admin', 'Admin', 'nav-admin') : null}
      </nav>
      <div class="topbar__end">
        <ConnectionIndicator connection={connection.value} />
        <span class="topbar__user" data-testid="current-user" title={user.email}>
          {user.name}
        </span>
        <button type="button" class="btn btn--ghost btn--small" onClick={onLogout} disabled={busy.value} data-testid="logout">
          Log out
        </button>
      </div>
      {error.value ? (
        <p class="topbar__error" role="alert" data-testid="logout-error">
          {error.value}
        </p>
      ) : null}
    </header>
  )
}
