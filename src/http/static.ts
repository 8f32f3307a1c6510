import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { Hono } from 'hono'
import { serveStatic } from '@hono/node-server/serve-static'
import { assetCaching } from './delivery.ts'

/**
 * The built web app (dist/web): files as they are (hashed ones cached for good, no source maps), and index.html for
 * every other non-API path (client routing).
 */
export function webRoutes(webDir: string) {
  const app = new Hono()
  if (!existsSync(join(webDir, 'index.html'))) {
    return app.get('/', (c) =>
      c.text('omoi is running. The web app is not built: run `npm run build:web`, or use the API under /api/v1.'),
    )
  }
  const root = relative(process.cwd(), webDir) || '.'
  return app
    .use('/*', assetCaching())
    .use('/*', async (c, next) => (c.req.path.endsWith('.map') ? c.notFound() : next())) // source maps are not published
    .use('/*', serveStatic({ root }))
    .get('*', async (c) => c.html(await readFile(join(webDir, 'index.html'), 'utf8')))
}
