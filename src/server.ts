import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { getRequestListener } from '@hono/node-server'
import type { Config } from './config.ts'
import { openEmbedded, openPostgres, type Database } from './db/connect.ts'
import { migrate } from './db/migrate.ts'
import { startEmbeddedVacuum } from './db/embedded-vacuum.ts'
import { createSessionStore } from './auth/sessions.ts'
import { createAuthService } from './auth/service.ts'
import { createApp } from './http/app.ts'
import { createSandboxApp } from './http/sandbox-app.ts'
import { answerClientErrors } from './http/client-error.ts'
import { logger } from './log.ts'
import { buildWorker } from '../scripts/build-worker.ts'
import { buildWeb } from '../scripts/build-web.ts'
import { SpecCommands } from './actors/commands.ts'
import { createDeliveryActors } from './actors/delivery-actors.ts'
import { SpecHost } from './actors/host.ts'
import { serveRouted } from './actors/routed-calls.ts'
import { SpecRouter } from './actors/router.ts'
import { createSandboxRunner, SandboxStops } from './actors/runner.ts'
import { SandboxEnds } from './actors/sandbox-ends.ts'
import { SandboxApi } from './actors/sandbox-api.ts'
import { reconcile } from './actors/reconcile.ts'
import { onDatabaseBack } from './db/transient.ts'
import { Semaphore } from './actors/serial-queue.ts'
import { specMachine } from './actors/spec-machine.ts'
import { storyLogger } from './actors/story.ts'
import { Metrics } from './metrics/registry.ts'
import { instrumentSql } from './metrics/instrument-sql.ts'
import { createSyncWriter } from './actors/sync.ts'
import { createDaytonaProvider } from './sandbox/daytona.ts'
import type { Isolation } from './sandbox/bwrap.ts'
import { listenOnCallbackSocket } from './sandbox/callback-socket.ts'
import { createLocalProvider } from './sandbox/local.ts'
import { probeBwrap } from './sandbox/probe.ts'
import type { SandboxProvider } from './sandbox/provider.ts'
import { attachSockets } from './sockets/index.ts'
import { checkDataDir, databaseUnreachable, listenFailed } from './start-errors.ts'
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
  /** The Hono app (the OpenAPI test lists its routes). */
  app: ReturnType<typeof createApp>
  /** Stop accepting, finish in-flight requests, stop actors, close the database (unless it was handed in). */
  close(): Promise<void>
}

/** The composition root: database, auth, HTTP. `database` may be handed in (tests); otherwise it is opened here. */
export async function startServer(config: Config, options: { database?: Database } = {}): Promise<RunningServer> {
  await checkDataDir(config.dataDir)
  // sandboxes that cannot be confined as configured stop the start before anything is opened
  const isolation = await sandboxIsolation(config)
  const database =
    options.database ??
    (config.databaseUrl
      ? await openPostgres(config.databaseUrl).catch((err: unknown): never => {
          throw databaseUnreachable(config.databaseUrl!, err)
        })
      : await openEmbedded(join(config.dataDir, 'db')))
  await migrate(database)
  const metrics = new Metrics()
  const sql = instrumentSql(database.sql, metrics.dbSeconds)

  const keySql = database.keySql === database.sql ? sql : instrumentSql(database.keySql, metrics.dbSeconds)
  const sessions = createSessionStore(sql, { secureCookies: (config.publicUrl ?? '').startsWith('https://'), keySql })
  const auth = createAuthService(sql, sessions, config.adminEmails)
  const provider = createProvider(config, await buildWorker(), isolation)
  let callbackUrl = ''
  const stops = new SandboxStops()
  const sandboxEnds = new SandboxEnds()
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
          ends: sandboxEnds,
          sql,
          provider,
          taskSlots: new Semaphore(config.nodeTaskLimit),
          taskConcurrency: config.taskConcurrency,
          keepSandboxes: (specId) => host.shuttingDown || host.isDropping(specId),
          settled: (specId) => host.settled(specId),
          fence: (specId) => host.fenceOf(specId),
          fenced: (specId, epoch) => host.fencedOut(specId, epoch),
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
          provider,
          gitToken: config.sandbox.kind === 'daytona' ? config.sandbox.gitToken : undefined,
          forge: config.forge,
          fence: (specId) => host.fenceOf(specId),
        }),
      },
    }),
  })
  host.bus.subscribe(storyLogger())
  host.bus.subscribe((message) => metrics.onBus(message))
  host.bus.timing = (message, seconds) => {
    if (message.kind === 'events') metrics.fanoutSeconds.observe(seconds)
  }
  metrics.attach({ sql, nodeId: config.nodeId, liveActors: () => host.listActors() })
  const router = new SpecRouter(sql, host)
  const commands = new SpecCommands(sql, host, config, router)
  const sandboxApi = new SandboxApi(sql, host, config, router)
  router.handle(serveRouted(commands, sandboxApi))
  const app = createApp({
    config,
    sql,
    auth,
    commands,
    sandboxApi,
    actorsReady: () => host.ready,
    stopping: stopping.signal,
    sandboxEnds,
    webDir: await buildWeb(),
    metrics,
    revokeAccess: (specIds, userId) => sockets.revokeAccess(specIds, userId),
  })

  const http: HttpServer = createServer(getRequestListener(app.fetch))
  answerClientErrors(http)
  const sockets = attachSockets(http, { sql, keySql, auth, host, commands, config, router })
  await new Promise<void>((resolve, reject) => {
    http.once('error', (err) => reject(listenFailed(config, err)))
    http.listen(config.port, config.host, () => resolve())
  })
  // bubblewrap sandboxes have a network of their own: they reach the sandbox routes, and only those, over a unix socket
  const sandboxApp = provider.callbackUrl ? createSandboxApp({ config, sandboxApi, stopping: stopping.signal, sandboxEnds }) : null
  const sandboxHttp = sandboxApp ? createServer(getRequestListener(sandboxApp.fetch)) : null
  if (sandboxHttp) answerClientErrors(sandboxHttp)
  const sandboxSocket = sandboxHttp
    ? await listenOnCallbackSocket(sandboxHttp, config.dataDir).catch(async (err: unknown) => {
        await stopServing(http)
        throw err
      })
    : undefined
  const port = (http.address() as AddressInfo).port
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`
  callbackUrl = provider.callbackUrl ?? `${config.publicUrl ?? url}/api/v1`
  log.info('listening', { url, sandboxSocket, node: config.nodeId, embedded: database.embedded, sandbox: provider.name })
  await host.boot()
  const reconcileNow = (when: string) =>
    reconcile(sql, host, provider).then(
      ({ sandboxesEnded }) => log.info('reconciled rows with the actors', { when, sandboxes_ended: sandboxesEnded }),
      (err: unknown) => log.warn('could not reconcile rows with the actors', { when, err }),
    )
  await reconcileNow('boot')
  // a node cut off past its leases still holds copies another node has taken over: they go before reconcile judges by them
  const offDatabaseBack = onDatabaseBack(() => void host.renew().then(() => reconcileNow('after a database outage')))
  const vacuum = database.embedded ? startEmbeddedVacuum(database.sql) : null

  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      stopping.abort()
      offDatabaseBack()
      const vacuumStopped = vacuum?.stop() // no round starts during the shutdown; one in progress ends before the close
      const stopped = Promise.all([http, ...(sandboxHttp ? [sandboxHttp] : [])].map(stopServing))
      await sockets.close()
      await stopped
      await host.shutdown()
      await stops.drain()
      await provider.close()
      await vacuumStopped
      if (!options.database) await database.close()
    })())

  return { url, port, database, config, host, io: sockets.io, app, close }
}

/**
 * Stops accepting and finishes in-flight requests; keep-alive connections that were busy when closing began are closed
 * as soon as they go idle, and whatever is left after 10 s is cut.
 */
async function stopServing(server: HttpServer): Promise<void> {
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
  const idle = setInterval(() => server.closeIdleConnections(), 100)
  const force = setTimeout(() => server.closeAllConnections(), 10_000)
  server.closeIdleConnections()
  await stopped
  clearInterval(idle)
  clearTimeout(force)
}

/** How local sandboxes (agents' and checks') are confined; Daytona sandboxes run nothing on this machine. */
async function sandboxIsolation(config: Config): Promise<Isolation> {
  if (config.sandbox.kind === 'daytona') return { kind: 'none' }
  if (config.sandbox.isolation === 'none') {
    log.warn('OMOI_SANDBOX_ISOLATION=none: agents run unconfined, with everything this server can reach')
    return { kind: 'none' }
  }
  const isolation = await probeBwrap(config.sandbox.network, (line) => log.warn(line))
  log.info('local sandboxes run in bubblewrap', { network: isolation.network.kind, userns: isolation.userns })
  return isolation
}

function createProvider(config: Config, workerPath: string, isolation: Isolation): SandboxProvider {
  if (config.sandbox.kind === 'local') return createLocalProvider({ dataDir: config.dataDir, workerPath, isolation, publicUrl: config.publicUrl })
  const { apiKey, apiUrl, target, gitToken } = config.sandbox
  return createDaytonaProvider({ apiKey, workerBundlePath: workerPath, ...(apiUrl ? { apiUrl } : {}), ...(target ? { target } : {}), ...(gitToken ? { gitToken } : {}) })
}
