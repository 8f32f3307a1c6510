import { timingSafeEqual } from 'node:crypto'
import { Hono } from 'hono'
import { AppError } from '../../errors.ts'
import type { Metrics } from '../../metrics/registry.ts'
import { clientAddress } from '../middleware.ts'
import { doc } from '../openapi.ts'

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/

/**
 * Who may read GET /metrics: callers on this machine (loopback), and anyone sending `Authorization: Bearer
 * <OMOI_METRICS_TOKEN>`. Answers null when allowed, else the error to send.
 */
export function metricsRefusal(address: string, authorization: string | undefined, token: string | undefined): AppError | null {
  const bearer = /^bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1]
  if (bearer !== undefined) {
    if (token && bearer.length === token.length && timingSafeEqual(Buffer.from(bearer), Buffer.from(token))) return null
    return new AppError('unauthenticated', 'This metrics token is wrong.')
  }
  if (LOOPBACK.test(address)) return null
  return token
    ? new AppError('unauthenticated', 'Send Authorization: Bearer <OMOI_METRICS_TOKEN> to read /metrics from another machine.')
    : new AppError('forbidden', 'GET /metrics is served to this machine only; set OMOI_METRICS_TOKEN to read it from elsewhere.')
}

/** GET /metrics: Prometheus text of this node's metrics. */
export function metricsRoutes(metrics: Metrics, token: string | undefined) {
  return new Hono().get('/metrics', doc({ summary: 'Prometheus metrics (loopback callers, or Bearer OMOI_METRICS_TOKEN)', tag: 'health', auth: 'none', media: 'text/plain' }), async (c) => {
    const refusal = metricsRefusal(clientAddress(c), c.req.header('authorization'), token)
    if (refusal) throw refusal
    const { body, contentType } = await metrics.text()
    return c.body(body, 200, { 'content-type': contentType })
  })
}
