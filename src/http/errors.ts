import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { AppError } from '../errors.ts'
import { logger } from '../log.ts'
import { isTransientDbError } from '../db/transient.ts'

const log = logger('omoi:http')

/** Unique violations that slip past the queries become 409s; everything unknown is a 500 without details. */
function fromDatabase(err: unknown): AppError | null {
  if (isTransientDbError(err)) return new AppError('unavailable', 'The database is unavailable for a moment; retry shortly.')
  const code = (err as { code?: unknown })?.code
  if (code === '23505') return new AppError('conflict', 'That already exists.')
  if (code === '23503') return new AppError('not_found', 'Something this request refers to does not exist.')
  if (code === '22P02') return new AppError('invalid_body', 'A value has the wrong format.')
  if (code === '22003') return new AppError('invalid_body', 'A number is out of the range it may have.')
  return null
}

/** The one error mapper of the HTTP transport: every non-2xx body has the CONTRACT §2 shape. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof AppError) {
    if (err.retryAfterS !== undefined) c.header('Retry-After', String(err.retryAfterS))
    return c.json({ error: err.toJSON() }, err.status as never)
  }
  if (err instanceof HTTPException) {
    const code = err.status === 413 ? 'too_large' : err.status === 401 ? 'unauthenticated' : 'bad_request'
    const message = err.status === 413 ? 'The request body is larger than 1 MiB.' : err.message || 'The request was not understood.'
    return c.json({ error: { code, message } }, err.status)
  }
  const mapped = fromDatabase(err)
  if (mapped) return c.json({ error: mapped.toJSON() }, mapped.status as never)
  log.error('request failed', { method: c.req.method, path: c.req.path, err })
  return c.json({ error: { code: 'internal', message: 'Something went wrong on our side; it has been logged.' } }, 500)
}

export function notFoundHandler(c: Context): Response {
  return c.json({ error: { code: 'not_found', message: `There is no ${c.req.method} ${c.req.path}.` } }, 404)
}
