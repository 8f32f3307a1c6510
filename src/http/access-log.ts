import type { MiddlewareHandler } from 'hono'
import type { RequestIdVariables } from 'hono/request-id'
import { logger } from '../log.ts'

const log = logger('omoi:http')

/**
 * One `debug` line per HTTP request after its answer: request id (from hono/request-id, also sent back as
 * X-Request-Id), method, path, status and duration in ms. Query strings are left out: they may carry tokens.
 */
export function accessLog(): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return async function accessLog(c, next) {
    const started = performance.now()
    await next()
    log.debug('request', {
      request_id: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    })
  }
}
