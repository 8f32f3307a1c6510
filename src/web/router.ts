/**
 * Client-side routing on the History API. `location` is a signal; internal `<a href="/…">` clicks are intercepted so
 * ordinary links navigate without a reload (and still open in a new tab with a modifier key).
 */
import { computed, signal } from '@preact/signals'
import { matchRoute } from './lib/routes.ts'

function current(): { pathname: string; search: string } {
  return { pathname: window.location.pathname, search: window.location.search }
}

export const location = signal(current())
export const route = computed(() => matchRoute(location.value.pathname))
export const query = computed(() => new URLSearchParams(location.value.search))

export function navigate(to: string, { replace = false }: { replace?: boolean } = {}): void {
  const url = new URL(to, window.location.origin)
  const target = url.pathname + url.search + url.hash
  if (target === window.location.pathname + window.location.search + window.location.hash && !replace) return
  if (replace) history.replaceState(null, '', target)
  else history.pushState(null, '', target)
  location.value = current()
  if (!replace) window.scrollTo(0, 0)
}

/** Changes only the query string (filters), keeping history clean. */
export function setQuery(params: Record<string, string | null>): void {
  const search = new URLSearchParams(window.location.search)
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === '') search.delete(k)
    else search.set(k, v)
  }
  const qs = search.toString()
  navigate(window.location.pathname + (qs ? `?${qs}` : ''), { replace: true })
}

function onClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  const anchor = (event.target as Element | null)?.closest?.('a')
  if (!anchor || anchor.target || anchor.hasAttribute('download') || anchor.getAttribute('rel') === 'external') return
  const href = anchor.getAttribute('href')
  if (!href || href.startsWith('#')) return
  const url = new URL(anchor.href, window.location.href)
  if (url.origin !== window.location.origin || url.pathname.startsWith('/api/')) return
  event.preventDefault()
  navigate(url.pathname + url.search + url.hash)
}

/** Starts listening to back/forward and link clicks. Call once at boot. */
export function startRouter(): void {
  window.addEventListener('popstate', () => {
    location.value = current()
  })
  document.addEventListener('click', onClick)
}
