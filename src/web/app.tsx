import { useEffect, useRef } from 'preact/hooks'
import { ErrorBanner } from './components/error-banner.tsx'
import { Nav } from './components/nav.tsx'
import { PUBLIC_ROUTES, safeNext, type Route } from './lib/routes.ts'
import { AdminPage } from './pages/admin.tsx'
import { AuthPage } from './pages/auth.tsx'
import { BoardPage } from './pages/board.tsx'
import { CommandPage } from './pages/command.tsx'
import { NotFoundPage } from './pages/not-found.tsx'
import { ProjectPage } from './pages/project.tsx'
import { SpecRoomPage } from './pages/spec-room.tsx'
import { location, navigate, query, route } from './router.ts'
import { getSocket } from './socket.ts'
import { authLoadError, authReady, loadMe, me } from './state/auth.ts'

const TITLES: Record<Route['name'], string> = {
  command: 'New',
  spec: 'Spec',
  board: 'Board',
  project: 'Project',
  admin: 'Admin',
  login: 'Log in',
  signup: 'Sign up',
  not_found: 'Not found',
}

function page(r: Route) {
  switch (r.name) {
    case 'command':
      return <CommandPage />
    case 'spec':
      return <SpecRoomPage key={r.id} specId={r.id} />
    case 'board':
      return <BoardPage />
    case 'project':
      return <ProjectPage key={r.id} projectId={r.id} />
    case 'admin':
      return <AdminPage />
    case 'login':
    case 'signup':
      return <AuthPage key={r.name} mode={r.name} />
    case 'not_found':
      return <NotFoundPage path={r.path} />
  }
}

/** The shell: who is signed in decides between the auth pages and the app; the route decides the page. */
export function App() {
  const r = route.value
  const user = me.value
  const ready = authReady.value
  const signedOutOnPrivate = ready && !user && !PUBLIC_ROUTES.has(r.name)
  const signedInOnPublic = ready && !!user && PUBLIC_ROUTES.has(r.name)

  // Effects run after paint; read the signals again so a navigation made meanwhile (after login) is not undone.
  useEffect(() => {
    if (!authReady.value) return
    const publicRoute = PUBLIC_ROUTES.has(route.value.name)
    if (!me.value && !publicRoute && !authLoadError.value) {
      const here = location.value.pathname + location.value.search
      navigate(here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`, { replace: true })
    } else if (me.value && publicRoute) {
      navigate(safeNext(query.value.get('next')), { replace: true })
    }
  }, [signedOutOnPrivate, signedInOnPublic])

  // Signed in: open the live connection now, so the indicator means something on every page and rooms join at once.
  const userId = user?.id ?? null
  useEffect(() => {
    if (userId) getSocket()
  }, [userId])

  // On navigation, move focus to the new page's heading so keyboard and screen-reader users land on it.
  const first = useRef(true)
  const pageKey = `${location.value.pathname}`
  useEffect(() => {
    if (r.name !== 'spec') document.title = `${TITLES[r.name]} · omoi`
    if (first.current) {
      first.current = false
      return
    }
    const heading = document.querySelector<HTMLElement>('[data-page-title]')
    heading?.focus({ preventScroll: true })
  }, [pageKey])

  if (!ready) {
    return (
      <main id="main" class="boot" aria-busy="true">
        <p class="muted">Loading…</p>
      </main>
    )
  }
  if (authLoadError.value && !user) {
    return (
      <main id="main" class="page page--narrow">
        <h1>omoi is not reachable</h1>
        <ErrorBanner error={new Error(authLoadError.value)} testid="boot-error" onRetry={() => void loadMe()} />
      </main>
    )
  }
  if (signedOutOnPrivate || signedInOnPublic) return null // redirecting

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Nav />
      <main id="main" tabIndex={-1}>
        {page(r)}
      </main>
    </>
  )
}
