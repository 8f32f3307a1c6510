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
import { buildWorker } from '../scripts/build-worker.ts'
import { buildWeb } from '../scripts/build-web.ts'
import { SpecCommands } from './actors/commands.ts'
import { createDeliveryActors } from './actors/delivery-actors.ts'
import { SpecHost } from './actors/host.ts'
import { createSandboxRunner, SandboxStops } from './actors/runner.ts'
import { SandboxApi } from './actors/sandbox-api.ts'
import { Semaphore } from './actors/serial-queue.ts'
import { specMachine } from './actors/spec-machine.ts'
import { createSyncWriter } from './actors/sync.ts'
import { createDaytonaProvider } from './sandbox/daytona.ts'
import { createLocalProvider } from './sandbox/local.ts'
import type { SandboxProvider } from './sandbox/provider.ts'
import { attachSockets } from './sockets/index.ts'
import type { SpecServer } from './sockets/types.ts'

const log = logger('omoi:server')

export const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url))

export interface RunningServer {
  url: string
  port: number
  database: Database
  config: Config
  host: SpecHost
  io: SpecServer
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
  const provider = createProvider(config, await buildWorker())
  let callbackUrl = ''
  const stops = new SandboxStops()
  // cancels model calls in flight through the proxy when the server stops
  const stopping = new AbortController()
  const host: SpecHost = new SpecHost({
    sql,
    nodeId: config.nodeId,
    singleNode: !config.cluster,
    settings: { silenceMs: config.silenceMs, phaseTimeoutMs: config.phaseTimeoutMs, taskConcurrency: config.taskConcurrency },
    machine: specMachine.provide({
      actors: {
        sandboxRunner: createSandboxRunner({
          stops,
          sql,
          provider,
          taskSlots: new Semaphore(config.nodeTaskLimit),
          taskConcurrency: config.taskConcurrency,
          shuttingDown: () => host.shuttingDown,
          env: () => ({
            callbackUrl,
            model: { apiKey: config.model.apiKey, baseUrl: config.model.baseUrl, name: config.model.name },
            gitToken: config.sandbox.kind === 'daytona' ? config.sandbox.gitToken : undefined,
          }),
          dataDir: config.dataDir,
        }),
        syncWriter: createSyncWriter(sql),
        ...createDeliveryActors({
          sql,
          dataDir: config.dataDir,
          gitToken: config.sandbox.kind === 'daytona' ? config.sandbox.gitToken : undefined,
          forge: config.forge,
        }),
      },
    }),
  })
  const commands = new SpecCommands(sql, host, config)
  const sandboxApi = new SandboxApi(sql, host, config)
  const app = createApp({
    config,
    sql,
    auth,
    commands,
    sandboxApi,
    actorsReady: () => host.ready,
    stopping: stopping.signal,
    webDir: await buildWeb(),
  })

  const http: HttpServer = createServer(getRequestListener(app.fetch))
  const sockets = attachSockets(http, { sql, auth, host, commands, config })
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(config.port, config.host, () => resolve())
  })
  const port = (http.address() as AddressInfo).port
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`
  callbackUrl = `${config.publicUrl ?? url}/api/v1`
  log.info('listening', { url, node: config.nodeId, embedded: database.embedded, sandbox: provider.name })
  await host.boot()

  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      stopping.abort()
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()))
      // keep-alive connections that were busy when closing began are closed as soon as they go idle
      const idle = setInterval(() => http.closeIdleConnections(), 100)
      const force = setTimeout(() => http.closeAllConnections(), 10_000)
      http.closeIdleConnections()
      await sockets.close()
      await stopped
      clearInterval(idle)
      clearTimeout(force)
      await host.shutdown()
      await stops.drain()
      await provider.close()
      if (!options.database) await database.close()
    })())

  return { url, port, database, config, host, io: sockets.io, close }
}

function createProvider(config: Config, workerPath: string): SandboxProvider {
  if (config.sandbox.kind === 'local') return createLocalProvider({ dataDir: config.dataDir, workerPath })
  const { apiKey, apiUrl, target, gitToken } = config.sandbox
  return createDaytonaProvider({ apiKey, workerBundlePath: workerPath, ...(apiUrl ? { apiUrl } : {}), ...(target ? { target } : {}), ...(gitToken ? { gitToken } : {}) })
}
