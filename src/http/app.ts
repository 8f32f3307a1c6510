import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import { accessLog } from './access-log.ts'
import type { Config } from '../config.ts'
import type { Sql } from '../db/connect.ts'
import type { AuthService } from '../auth/service.ts'
import { compression, securityHeaders } from './delivery.ts'
import { notFoundHandler, onError } from './errors.ts'
import { checkOrigin, identify, limitBody, type Env } from './middleware.ts'
import { authRoutes } from './routes/auth.ts'
import { boardRoutes, ticketReadRoutes } from './routes/board.ts'
import { healthRoutes } from './routes/health.ts'
import { artifactExportRoutes } from './routes/artifact-export.ts'
import { memberRoutes, type RevokeAccess } from './routes/members.ts'
import { projectRoutes } from './routes/projects.ts'
import { specReadRoutes } from './routes/specs.ts'
import { specDiffRoutes } from './routes/spec-diff.ts'
import { webRoutes } from './static.ts'
import { specCommandRoutes } from './routes/spec-commands.ts'
import { quickTicketRoutes } from './routes/tickets.ts'
import { sandboxFacingRoutes } from './sandbox-app.ts'
import { closedSignup, userRoutes } from './routes/users.ts'
import { metricsRoutes } from './routes/metrics.ts'
import { openApiRoutes } from './openapi.ts'
import type { Metrics } from '../metrics/registry.ts'
import type { SpecCommands } from '../actors/commands.ts'
import type { SandboxApi } from '../actors/sandbox-api.ts'
import type { SandboxEnds } from '../actors/sandbox-ends.ts'

export interface AppDeps {
  config: Config
  sql: Sql
  auth: AuthService
  commands: SpecCommands
  sandboxApi: SandboxApi
  /** The actors this node owns are restored (readiness). */
  actorsReady: () => boolean
  /** Makes a removed member's sockets leave the rooms of these specs (wired to Socket.IO once it is attached). */
  revokeAccess: RevokeAccess
  /** Aborted when the server stops: cancels model calls in flight. */
  stopping: AbortSignal
  /** Sandboxes this node ended: their model calls in flight are cut at once. */
  sandboxEnds: SandboxEnds
  webDir: string
  metrics: Metrics
}

/** The Hono app: REST under /api/v1 (CONTRACT §3–4, §7), health checks, and the web app. */
export function createApp(deps: AppDeps) {
  const { config, sql, auth, commands } = deps
  const api = new Hono<Env>()
    .route('/sandboxes', sandboxFacingRoutes(deps))
    .use(limitBody())
    .use(identify(auth))
    .use(checkOrigin({ allowed: () => (config.publicUrl ? [config.publicUrl] : []) }))
    .use('/auth/signup', closedSignup(config))
    .route('/auth', authRoutes(auth, { allowedOrigins: () => (config.publicUrl ? [config.publicUrl] : []) }))
    .route('/users', userRoutes(sql, config))
    .route('/projects', memberRoutes(sql, deps.revokeAccess))
    .route('/projects', projectRoutes(sql, { roots: config.repoRoots, dataDir: config.dataDir }))
    .route('/specs', specCommandRoutes(commands))
    .route('/specs', artifactExportRoutes(sql))
    .route('/specs', specReadRoutes(sql))
    .route('/specs', specDiffRoutes(sql, config.dataDir))
    .route('/', boardRoutes(sql))
    .route('/tickets', quickTicketRoutes(sql, commands))
    .route('/tickets', ticketReadRoutes(sql))
    .notFound(notFoundHandler)

  const root = new Hono()
  return root
    .onError(onError)
    .use(requestId())
    .use(accessLog())
    .use(securityHeaders())
    .use(compression())
    .route('/', healthRoutes(sql, deps.actorsReady))
    .route('/', metricsRoutes(deps.metrics, config.metricsToken))
    .route('/api', openApiRoutes(root))
    .route('/api/v1', api)
    .all('/api/*', notFoundHandler)
    .route('/', webRoutes(deps.webDir))
    .notFound(notFoundHandler)
}
