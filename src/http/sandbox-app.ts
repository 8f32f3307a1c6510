import { Hono } from 'hono'
import { requestId } from 'hono/request-id'
import { accessLog } from './access-log.ts'
import type { AppDeps } from './app.ts'
import { notFoundHandler, onError } from './errors.ts'
import { limitBody } from './middleware.ts'
import { modelProxyRoutes } from './routes/model-proxy.ts'
import { sandboxRoutes } from './routes/sandboxes.ts'

type SandboxDeps = Pick<AppDeps, 'config' | 'sandboxApi' | 'stopping' | 'sandboxEnds'>

/**
 * What a sandbox calls (CONTRACT §7), under /sandboxes: the model proxy (with its own body limit, 32 MiB) and the
 * callbacks (1 MiB), each authenticated by the sandbox's token.
 */
export function sandboxFacingRoutes(deps: SandboxDeps) {
  return (
    new Hono()
      .route('/', modelProxyRoutes(deps.sandboxApi, deps.config, { stopping: deps.stopping, ends: deps.sandboxEnds }))
      .use(limitBody())
      // sandboxes authenticate with their own token, not a session (and are not browsers: no Origin check)
      .route('/', sandboxRoutes(deps.sandboxApi))
  )
}

/**
 * The app on the server's sandbox socket (src/sandbox/callback-socket.ts): /api/v1/sandboxes and nothing else — no
 * sign-up, no reads, no web app, no metrics. Whatever reaches the socket from inside a sandbox holds at most its own
 * token, so it gets no more than that token opens.
 */
export function createSandboxApp(deps: SandboxDeps) {
  return new Hono()
    .onError(onError)
    .use(requestId())
    .use(accessLog())
    .route('/api/v1/sandboxes', sandboxFacingRoutes(deps))
    .notFound(notFoundHandler)
}
