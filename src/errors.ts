/**
 * The one error the domain throws. Transports map it: HTTP to a status and the CONTRACT §2 body,
 * sockets to an `{ok: false, error}` ack.
 */

export const ERROR_STATUS = {
  invalid_body: 400,
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  already_running: 409,
  budget_exceeded: 402,
  too_large: 413,
  rate_limited: 429,
  model_not_configured: 503,
  unavailable: 503,
  internal: 500,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export class AppError extends Error {
  override name = 'AppError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: Record<string, string[]>,
    /** When a retry may succeed, in seconds: HTTP answers it as `Retry-After`. */
    readonly retryAfterS?: number,
  ) {
    super(message)
  }

  get status(): number {
    return ERROR_STATUS[this.code]
  }

  toJSON(): { code: ErrorCode; message: string; fields?: Record<string, string[]> } {
    return { code: this.code, message: this.message, ...(this.fields ? { fields: this.fields } : {}) }
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} was not found`)
export const conflict = (message: string) => new AppError('conflict', message)

/** The message of anything thrown, for a log line or an event's `error` field. */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err))
