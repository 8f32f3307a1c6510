/** The UI's routes. Every non-API path serves index.html; this decides which page it is. */
export type Route =
  | { name: 'command' }
  | { name: 'spec'; id: string }
  | { name: 'board' }
  | { name: 'project'; id: string }
  | { name: 'admin' }
  | { name: 'login' }
  | { name: 'signup' }
  | { name: 'not_found'; path: string }

/** Pages anyone may see without a session. */
export const PUBLIC_ROUTES: ReadonlySet<Route['name']> = new Set(['login', 'signup'])

export function matchRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/'
  if (path === '/') return { name: 'command' }
  if (path === '/board') return { name: 'board' }
  if (path === '/admin') return { name: 'admin' }
  if (path === '/login') return { name: 'login' }
  if (path === '/signup') return { name: 'signup' }
  const project = /^\/projects\/([^/]+)$/.exec(path)
  if (project) {
    try {
      return { name: 'project', id: decodeURIComponent(project[1]!) }
    } catch {
      return { name: 'not_found', path }
    }
  }
  const spec = /^\/specs\/([^/]+)$/.exec(path)
  if (spec) {
    try {
      return { name: 'spec', id: decodeURIComponent(spec[1]!) }
    } catch {
      return { name: 'not_found', path }
    }
  }
  return { name: 'not_found', path }
}

export const specPath = (id: string) => `/specs/${encodeURIComponent(id)}`
export const projectPath = (id: string) => `/projects/${encodeURIComponent(id)}`
export const boardPath = (projectId?: string | null) =>
  projectId ? `/board?project_id=${encodeURIComponent(projectId)}` : '/board'

/** Only same-origin paths are followed after login, so `?next=` cannot send anyone elsewhere. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/'
  const { name } = matchRoute(next.split(/[?#]/)[0]!)
  return name === 'login' || name === 'signup' ? '/' : next
}
