import type { Server as HttpServer } from 'node:http'
import { Server } from 'socket.io'
import { createAdapter } from '@socket.io/postgres-adapter'
import pg from 'pg'
import type { SpecCommands } from '../actors/commands.ts'
import type { SpecHostView } from '../actors/host-api.ts'
import type { SpecRouter } from '../actors/router.ts'
import type { AuthService } from '../auth/service.ts'
import type { Config } from '../config.ts'
import type { Sql } from '../db/connect.ts'
import { eventsAfter } from '../db/events.ts'
import { findSpecs } from '../db/specs.ts'
import { logger } from '../log.ts'
import { presentSpec } from '../schemas/present.ts'
import { registerAdmin } from './admin.ts'
import { linkOwners } from './owner-link.ts'
import { AccessRevocations } from './revoke.ts'
import { hangUp } from './backpressure.ts'
import { ConfirmedRelay } from './confirmed-relay.ts'
import { SpecFeed } from './feed.ts'
import { JoinReads } from './join-reads.ts'
import { PresenceBoard } from './presence.ts'
import { registerSpecs } from './specs.ts'
import { MAX_FRAME_BYTES, refuseOversized } from './too-large.ts'
import type { AdminNamespace, SpecServer, SpecSocket } from './types.ts'

const log = logger('omoi:sockets')

type Connection = SpecSocket['conn']

export interface SocketDeps {
  sql: Sql
  /** Reads by key (`Database.keySql`): a join's read of the spec and the joiners' access. */
  keySql: Sql
  auth: AuthService
  host: SpecHostView
  commands: SpecCommands
  config: Config
  /** Clustered: requests for specs another node runs are handed to it over the adapter. */
  router: SpecRouter
}

export interface AttachedSockets {
  io: SpecServer
  /** A member lost access to these specs: their sockets leave the rooms on every node, the others see them go. */
  revokeAccess(specIds: readonly string[], userId: string): Promise<void>
  /** Disconnects every client and leaves the cluster. Call after the HTTP server stopped accepting connections. */
  close(): Promise<void>
}

/**
 * Socket.IO on the HTTP server that serves Hono (CONTRACT §6, DESIGN §4). Everything the actor host publishes after a
 * commit reaches the viewers: events and state to the spec's room, transitions to the admins watching. With
 * OMOI_CLUSTER=postgres the nodes share broadcasts through the PostgreSQL adapter, and each node relays its own bus
 * to the others.
 */
export function attachSockets(http: HttpServer, deps: SocketDeps): AttachedSockets {
  const { config, host } = deps
  const io: SpecServer = new Server(http, { serveClient: false, maxHttpBufferSize: MAX_FRAME_BYTES })
  const pool = config.cluster === 'postgres' ? clusterPool(config.databaseUrl!) : null
  // heartbeats sized so a dead node leaves the adapter's node list (and stops delaying acks) within a few seconds
  if (pool) {
    io.adapter(
      createAdapter(pool, { heartbeatInterval: 1000, heartbeatTimeout: 4000, errorHandler: (err) => log.warn('cluster adapter error', { err }) }),
    )
  }

  const allowedOrigins = config.publicUrl ? [config.publicUrl] : []
  const feed = new SpecFeed((specId, afterSeq) => eventsAfter(deps.sql, specId, afterSeq))
  const presence = new PresenceBoard(io.of('/'), pool ? (specId) => io.serverSideEmit('relay:presence', specId) : undefined)
  const connections = new Set<Connection>()
  io.engine.on('connection', (conn: Connection) => {
    connections.add(conn)
    conn.once('close', () => connections.delete(conn))
  })
  const revocations = new AccessRevocations(io.of('/'), feed, presence)
  const relay = new ConfirmedRelay(host.nodeId, () => io.of('/').adapter.serverCount())
  // clustered: the watched specs as stored, so that relays this node missed are made up for (feed.ts `resync`)
  let catchUp: NodeJS.Timeout | undefined
  let resyncing = false
  const resyncWatched = async () => {
    const ids = feed.watched()
    if (resyncing || ids.length === 0) return
    resyncing = true
    try {
      for (const row of await findSpecs(deps.sql, ids)) feed.resync(row.id, presentSpec(row))
    } catch (err) {
      log.warn('could not read the watched specs', { err })
    } finally {
      resyncing = false
    }
  }
  const reads = new JoinReads(deps.sql, deps.keySql)
  registerSpecs(io.of('/'), { ...deps, reads, feed, presence, revocations, allowedOrigins })
  // io.of() is typed with the server's event maps; /admin has its own
  const admin = io.of('/admin') as unknown as AdminNamespace
  io.of('/').on('connection', refuseOversized)
  admin.on('connection', refuseOversized)
  const watchers = registerAdmin(admin, { auth: deps.auth, host, allowedOrigins, clustered: pool !== null })

  // a logout ends that session's live connections at once, on every node (a reconnect is refused at the handshake)
  const cutSession = (session: string) => {
    for (const nsp of [io.of('/'), admin]) {
      for (const socket of nsp.sockets.values()) if (socket.data.session === session) socket.disconnect(true)
    }
  }
  if (pool) {
    io.on('relay:events', (specId, events) => feed.events(specId, events))
    io.on('relay:state', (specId, spec) => feed.state(specId, spec))
    io.on('relay:presence', (specId) => presence.announce(specId, false))
    presence.sweep(PRESENCE_SWEEP_MS)
    catchUp = setInterval(() => void resyncWatched(), CATCH_UP_MS)
    io.on('session:revoked', (session, confirmed, done) => relay.receive(confirmed, done, () => cutSession(session)))
    io.on('access:revoked', (specIds, userId, confirmed, done) => relay.receive(confirmed, done, () => revocations.revoke(specIds, userId)))
    linkOwners(io, deps.router, host.nodeId)
  }
  const offLogout = deps.auth.onLogout((session) => {
    cutSession(session)
    if (pool) void relay.send('a session revocation', (confirmed) => io.serverSideEmitWithAck('session:revoked', session, confirmed), {})
  })
  const unsubscribe = host.bus.subscribe((message) => {
    switch (message.kind) {
      case 'events':
        feed.events(message.specId, message.events)
        if (pool) io.serverSideEmit('relay:events', message.specId, message.events)
        return
      case 'state': {
        const spec = presentSpec(message.spec)
        feed.state(message.specId, spec)
        if (pool) io.serverSideEmit('relay:state', message.specId, spec)
        return
      }
      case 'transition':
        watchers({ spec_id: message.specId, from: message.from, to: message.to, event: message.event, at: message.at })
        return
    }
  })

  return {
    io,
    async revokeAccess(specIds, userId) {
      revocations.revoke(specIds, userId)
      // answered once every node took the member's sockets out, or was sent it again (confirmed-relay.ts)
      if (pool) {
        const send = (confirmed: readonly string[]) => io.serverSideEmitWithAck('access:revoked', specIds, userId, confirmed)
        await relay.send('an access revocation', send, { user_id: userId, spec_ids: specIds })
      }
    },
    async close() {
      relay.close()
      clearInterval(catchUp)
      presence.close() // nobody is told about sockets closing now
      unsubscribe()
      offLogout()
      // Not io.close(): it would close the HTTP server a second time and could wait for a 'close' already emitted.
      // Hung up rather than closed: a client that stopped reading would hold the HTTP server's close for 30 s.
      for (const conn of connections) hangUp(conn)
      io.engine.close()
      await Promise.allSettled([io.of('/').adapter.close(), admin.adapter.close()])
      await pool?.end()
    },
  }
}

/** How often a node reads the specs watched on it (clustered), to make up for relays it missed: at most this late. */
const CATCH_UP_MS = 3_000

/** How often a node re-reads who watches (clustered), so a dead node's viewers leave presence within seconds. */
const PRESENCE_SWEEP_MS = 3_000

function clusterPool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'omoi-sockets' })
  // A lost connection is an 'error' event on its client, fatal without a listener. pg-pool re-emits an idle client's
  // on the pool, but leaves a checked-out client's to its holder, and the adapter holds one for LISTEN without a
  // listener: a database restart or a cut network took the node down. Every client gets one; the adapter sees the
  // client end and reconnects.
  // (A client that ends is handed back by the adapter itself: patches/@socket.io+postgres-adapter+0.5.0.patch.)
  pool.on('error', (err) => log.warn('cluster pool error', { err }))
  pool.on('connect', (client) => client.on('error', (err) => log.warn('cluster connection lost', { err })))
  return pool
}
