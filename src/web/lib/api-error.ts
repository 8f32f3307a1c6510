/** An API failure as the UI shows it: the server's code and message, and per-field messages for forms. */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Record<string, string[]> = {},
  ) {
    super(message)
  }

  /** The messages for one field (`repo_url`), or those under a prefix (`events.0`), joined for display. */
  fieldMessage(name: string): string | null {
    const own = this.fields[name]
    if (own && own.length > 0) return own.join(' ')
    const nested = Object.entries(this.fields)
      .filter(([k]) => k.startsWith(`${name}.`))
      .flatMap(([, v]) => v)
    return nested.length > 0 ? nested.join(' ') : null
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'The request was not accepted.',
  401: 'You are not signed in.',
  403: 'You are not allowed to do that.',
  404: 'Not found.',
  409: 'That conflicts with the current state; reload and try again.',
  413: 'That is too large.',
  429: 'Too many requests; wait a moment and try again.',
  502: 'The server is unreachable right now (bad gateway).',
  503: 'The service is unavailable right now.',
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string')
  return []
}

/**
 * Turns a non-2xx answer into an {@link ApiError}: the contract's `{error: {code, message, fields?}}` when the body has
 * it, else a message that names the HTTP status.
 */
export function toApiError(status: number, body: unknown): ApiError {
  const error = body && typeof body === 'object' && 'error' in body ? (body as { error: unknown }).error : null
  if (error && typeof error === 'object') {
    const e = error as Record<string, unknown>
    const code = typeof e.code === 'string' ? e.code : `http_${status}`
    const message = typeof e.message === 'string' && e.message ? e.message : (STATUS_TEXT[status] ?? `The server answered ${status}.`)
    const fields: Record<string, string[]> = {}
    if (e.fields && typeof e.fields === 'object') {
      for (const [k, v] of Object.entries(e.fields as Record<string, unknown>)) {
        const list = stringList(v)
        if (list.length > 0) fields[k] = list
      }
    }
    return new ApiError(status, code, message, fields)
  }
  return new ApiError(status, `http_${status}`, STATUS_TEXT[status] ?? `The server answered ${status}.`)
}

/** Any thrown value as something with a message to show. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error && err.message) return err.message
  if (typeof err === 'string') return err
  return 'Something went wrong.'
}

export const networkError = (cause: unknown) =>
  new ApiError(0, 'network', `Could not reach the server (${errorMessage(cause)}). Check the connection and try again.`)

/**
 * Field messages of `err` for fields the form does not show next to a control (`claimed` lists those it does), as
 * "field: message" lines, so none is dropped.
 */
export function otherFieldMessages(err: unknown, claimed: readonly string[]): string[] {
  if (!(err instanceof ApiError)) return []
  return Object.entries(err.fields)
    .filter(([k]) => !claimed.some((c) => k === c || k.startsWith(`${c}.`)))
    .map(([k, v]) => `${k}: ${v.join(' ')}`)
}
