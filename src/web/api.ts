/**
 * The REST client (CONTRACT §2–4). Same-origin fetches with the session cookie; every non-2xx answer becomes an
 * {@link ApiError} carrying the server's code, message and per-field messages.
 */
import { ApiError, networkError, toApiError } from './lib/api-error.ts'
import type { Artifacts, Board, SpecDiff, LaunchResult, Member, MemberList, Project, Spec, SpecEvent, Ticket, User } from './types.ts'

export { ApiError, errorMessage } from './lib/api-error.ts'

const BASE = '/api/v1'

let onUnauthenticated: (() => void) | null = null

/** Called when a signed-in request answers 401 (the session ended elsewhere). */
export function setUnauthenticatedHandler(handler: (() => void) | null): void {
  onUnauthenticated = handler
}

type Query = Record<string, string | number | null | undefined>

function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v))
  const qs = params.toString()
  return qs ? `${path}?${qs}` : path
}

export async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(withQuery(BASE + path, query), {
      method,
      credentials: 'same-origin',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (err) {
    throw networkError(err)
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let parsed: unknown = null
  if (text) {
    try {
      parsed = JSON.parse(text)
    } catch {
      if (res.ok) throw new ApiError(res.status, 'bad_response', 'The server sent an answer that is not JSON.')
    }
  }
  if (!res.ok) {
    const error = toApiError(res.status, parsed)
    if (res.status === 401 && !path.startsWith('/auth/')) onUnauthenticated?.()
    throw error
  }
  return parsed as T
}

const id = encodeURIComponent

export const api = {
  signup: (body: { email: string; password: string; name: string }) =>
    request<{ user: User; token: string }>('POST', '/auth/signup', body),
  login: (body: { email: string; password: string }) => request<{ user: User; token: string }>('POST', '/auth/login', body),
  logout: () => request<void>('POST', '/auth/logout'),
  me: () => request<{ user: User }>('GET', '/auth/me'),

  projects: () => request<Project[] | { projects: Project[] }>('GET', '/projects').then(unwrapList<Project>('projects')),
  createProject: (body: { name: string; repo_url?: string; default_branch?: string }) =>
    request<Project | { project: Project }>('POST', '/projects', body).then(unwrapOne<Project>('project')),
  projectSpecs: (projectId: string) =>
    request<Spec[] | { specs: Spec[] }>('GET', `/projects/${id(projectId)}/specs`, undefined, { limit: 10 }).then(unwrapList<Spec>('specs')),
  /** One page of a project's specs (newest first) with the total that match. */
  projectSpecPage: (projectId: string, query: { status?: string; q?: string; limit: number; offset: number }) =>
    request<{ specs: Spec[]; total: number }>('GET', `/projects/${id(projectId)}/specs`, undefined, query),
  project: (projectId: string) => request<Project>('GET', `/projects/${id(projectId)}`),
  /** PATCH /projects/:id (owner only). */
  updateProject: (projectId: string, body: { name?: string; default_branch?: string; check_command?: string | null }) =>
    request<Project>('PATCH', `/projects/${id(projectId)}`, body),
  members: (projectId: string) => request<MemberList>('GET', `/projects/${id(projectId)}/members`),
  addMember: (projectId: string, body: { email: string; role: 'viewer' | 'editor' }) =>
    request<unknown>('POST', `/projects/${id(projectId)}/members`, body),
  setMemberRole: (projectId: string, userId: string, role: 'viewer' | 'editor') =>
    request<Member>('PATCH', `/projects/${id(projectId)}/members/${id(userId)}`, { role }),
  removeMember: (projectId: string, userId: string) => request<void>('DELETE', `/projects/${id(projectId)}/members/${id(userId)}`),
  withdrawInvitation: (projectId: string, email: string) => request<void>('DELETE', `/projects/${id(projectId)}/invitations/${id(email)}`),

  launch: (body: { project_id: string; title: string; description: string; approval: 'auto' | 'manual'; budget_usd?: number }) =>
    request<LaunchResult>('POST', '/specs/launch', body),
  spec: (specId: string) => request<Spec | { spec: Spec }>('GET', `/specs/${id(specId)}`).then(unwrapOne<Spec>('spec')),
  updateSpec: (specId: string, body: { budget_usd: number | null }) =>
    request<Spec>('PATCH', `/specs/${id(specId)}`, body).then(unwrapOne<Spec>('spec')),
  execute: (specId: string) => request<{ status: string }>('POST', `/specs/${id(specId)}/execute`),
  diff: (specId: string, query: { task?: string; path?: string }) => request<SpecDiff>('GET', `/specs/${id(specId)}/diff`, undefined, query),
  /** The unified diff as text (`?format=patch`). */
  diffPatch: async (specId: string, query: { task?: string; path?: string }) => {
    const res = await fetch(withQuery(`${BASE}/specs/${id(specId)}/diff`, { ...query, format: 'patch' }), { credentials: 'same-origin' })
    if (!res.ok) throw toApiError(res.status, await res.json().catch(() => null))
    return res.text()
  },
  artifacts: (specId: string) => request<Artifacts>('GET', `/specs/${id(specId)}/artifacts`),
  events: (specId: string, query: { limit?: number; offset?: number; after_seq?: number; type?: string }) =>
    request<{ spec_id: string; events: SpecEvent[]; total: number }>('GET', `/specs/${id(specId)}/events`, undefined, query),

  board: (projectId?: string | null) => request<Board>('GET', '/board', undefined, { project_id: projectId }),
  ticket: (ticketId: string) =>
    request<Ticket | { ticket: Ticket }>('GET', `/tickets/${id(ticketId)}`).then(unwrapOne<Ticket>('ticket')),
  createTicket: (body: { project_id: string; title: string; description: string }) =>
    request<Ticket | { ticket: Ticket }>('POST', '/tickets', body).then(unwrapOne<Ticket>('ticket')),
}

/** The contract says "answers a project"/"list"; accept both a bare value and one wrapped under its name. */
function unwrapOne<T>(key: string) {
  return (value: unknown): T => {
    if (value && typeof value === 'object' && key in value && !('id' in value)) return (value as Record<string, T>)[key]!
    return value as T
  }
}

function unwrapList<T>(key: string) {
  return (value: unknown): T[] => {
    if (Array.isArray(value)) return value as T[]
    if (value && typeof value === 'object' && Array.isArray((value as Record<string, unknown>)[key])) {
      return (value as Record<string, T[]>)[key]!
    }
    return []
  }
}
