import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { getRequestListener } from '@hono/node-server'
import type { Config } from './config.ts'
import { openEmbedded, openPostgres, type Database } from './db/connect.ts'
import { migrate } from './db/migrate.ts'
import { createSessionStore } from './auth/sessions.ts'
import { createAuthService } from './auth/service.ts'
import { createApp } from './http/app.ts'
import { logger } from './log.ts'

const log = logger('omoi:server')

export const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url))

export interface RunningServer {
  url: string
  port: number
  database: Database
  config: Config
  /** Stop accepting, finish in-flight requests, stop actors, close the database (unless it was handed in). */
  close(): Promise<void>
}

/** The composition root: database, auth, HTTP. `database` may be handed in (tests); otherwise it is opened here. */
export async function startServer(config: Config, options: { database?: Database } = {}): Promise<RunningServer> {
  const database =
    options.database ?? (config.databaseUrl ? await openPostgres(config.databaseUrl) : await openEmbedded(join(config.dataDir, 'db')))
  await migrate(database)
  const { sql } = database

  const sessions = createSessionStore(sql, { secureCookies: (config.publicUrl ?? '').startsWith('https://') })
  const auth = createAuthService(sql, sessions, config.adminEmails)
  const app = createApp({ config, sql, auth, webDir: join(ROOT_DIR, 'dist', 'web') })

  const http: HttpServer = createServer(getRequestListener(app.fetch))
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(config.port, config.host, () => resolve())
  })
  const port = (http.address() as AddressInfo).port
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`
  log.info('listening', { url, node: config.nodeId, embedded: database.embedded })

  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => {
        http.close(() => resolve())
        http.closeIdleConnections()
      })
      if (!options.database) await database.close()
    })())

  return { url, port, database, config, close }
}
