import { Hono } from 'hono'
import type { Config } from '../config.ts'
import type { Sql } from '../db/connect.ts'
import type { AuthService } from '../auth/service.ts'
import { notFoundHandler, onError } from './errors.ts'
import { checkOrigin, identify, limitBody, type Env } from './middleware.ts'
import { authRoutes } from './routes/auth.ts'
import { boardRoutes, ticketReadRoutes } from './routes/board.ts'
import { healthRoutes } from './routes/health.ts'
import { projectRoutes } from './routes/projects.ts'
import { specReadRoutes } from './routes/specs.ts'
import { specDiffRoutes } from './routes/spec-diff.ts'
import { webRoutes } from './static.ts'
import { specCommandRoutes } from './routes/spec-commands.ts'
import { quickTicketRoutes } from './routes/tickets.ts'
import { sandboxRoutes } from './routes/sandboxes.ts'
import { modelProxyRoutes } from './routes/model-proxy.ts'
import type { SpecCommands } from '../actors/commands.ts'
import type { SandboxApi } from '../actors/sandbox-api.ts'

export interface AppDeps {
  config: Config
  sql: Sql
  auth: AuthService
  commands: SpecCommands
  sandboxApi: SandboxApi
  /** The actors this node owns are restored (readiness). */
  actorsReady: () => boolean
  /** Aborted when the server stops: cancels model calls in flight. */
  stopping: AbortSignal
  webDir: string
}

/** The Hono app: REST under /api/v1 (CONTRACT §3–4, §7), health checks, and the web app. */
export function createApp(deps: AppDeps) {
  const { config, sql, auth, commands } = deps
  const api = new Hono<Env>()
    .route('/sandboxes', modelProxyRoutes(deps.sandboxApi, config, deps.stopping))
    .use(limitBody())
    // sandboxes authenticate with their own token, not a session (and are not browsers: no Origin check)
    .route('/sandboxes', sandboxRoutes(deps.sandboxApi))
    .use(identify(auth))
    .use(checkOrigin({ allowed: () => (config.publicUrl ? [config.publicUrl] : []) }))
    .route('/auth', authRoutes(auth))
    .route('/projects', projectRoutes(sql))
    .route('/specs', specCommandRoutes(commands))
    .route('/specs', specReadRoutes(sql))
    .route('/specs', specDiffRoutes(sql, config.dataDir))
    .route('/', boardRoutes(sql))
    .route('/tickets', quickTicketRoutes(sql, commands))
    .route('/tickets', ticketReadRoutes(sql))
    .notFound(notFoundHandler)

  return new Hono()
    .onError(onError)
    .route('/', healthRoutes(sql, deps.actorsReady))
    .route('/api/v1', api)
    .all('/api/*', notFoundHandler)
    .route('/', webRoutes(deps.webDir))
    .notFound(notFoundHandler)
}
