/**
 * The Socket.IO connection (CONTRACT §6). One socket on namespace `/`, opened after sign-in and authenticated by the
 * session cookie; its state is a signal for the connection indicator. The admin namespace gets its own socket.
 */
import { signal } from '@preact/signals'
import { io, type Socket } from 'socket.io-client'
import type { PresenceMessage } from './lib/room-sync.ts'
import type { Ack, ActorTransition, Spec, SpecEvent } from './types.ts'

export interface ServerEvents {
  'spec:event': (event: SpecEvent) => void
  /** Batched delivery (joined with `batch: true`): the events of one tick, in seq order. */
  'spec:events': (events: SpecEvent[]) => void
  'spec:state': (spec: Spec) => void
  'spec:presence': (presence: PresenceMessage) => void
  /** This socket was taken out of the spec's room: its user lost access (src/sockets/revoke.ts). */
  'spec:access_revoked': (payload: { spec_id: string }) => void
  'actor:transition': (transition: ActorTransition) => void
}

/** What the client emits is checked where it is built; acks are normalized by {@link emitAck}. */
type ClientEvents = Record<string, (...args: any[]) => void>

export type AppSocket = Socket<ServerEvents, ClientEvents>

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'refused'

export interface Connection {
  state: ConnectionState
  /** Why it is not connected, when we know. */
  message?: string
}

export const connection = signal<Connection>({ state: 'idle' })

let main: AppSocket | null = null
let onRefused: (() => void) | null = null

/** Called when the server refuses the socket as `unauthenticated` (the session ended). */
export function setRefusedHandler(handler: (() => void) | null): void {
  onRefused = handler
}

function track(socket: Socket, set: (c: Connection) => void): void {
  set({ state: 'connecting' })
  socket.on('connect', () => set({ state: 'connected' }))
  socket.on('disconnect', (reason) => {
    if (reason === 'io client disconnect') return set({ state: 'idle' })
    if (reason === 'io server disconnect') socket.connect() // the server hung up on us; Socket.IO will not retry by itself
    set({ state: 'reconnecting', message: `Connection lost (${reason}); reconnecting…` })
  })
  socket.on('connect_error', (err) => {
    if (err.message === 'unauthenticated' || err.message === 'forbidden') {
      set({ state: 'refused', message: err.message === 'forbidden' ? 'Not allowed to connect.' : 'Your session has ended; sign in again.' })
      if (err.message === 'unauthenticated') onRefused?.()
      return
    }
    // Middleware refusals leave the socket inactive; transport errors are retried by Socket.IO.
    if (!socket.active) {
      set({ state: 'refused', message: `The server refused the connection: ${err.message}` })
      return
    }
    set({ state: 'reconnecting', message: `Cannot reach the server (${err.message}); retrying…` })
  })
}

/** The main socket, connecting it on first use. */
export function getSocket(): AppSocket {
  if (!main) {
    main = io({ withCredentials: true, transports: ['websocket', 'polling'], tryAllTransports: true })
    track(main, (c) => (connection.value = c))
  }
  return main
}

/** Closes every socket (sign-out, or the session ended) so the next sign-in handshakes with the new cookie. */
export function closeSockets(): void {
  main?.removeAllListeners()
  main?.disconnect()
  main = null
  connection.value = { state: 'idle' }
}

/**
 * Runs `fn` now if the socket is connected and again after every (re)connect, the moment to (re)join rooms.
 * Returns the unsubscribe.
 */
export function onConnect(socket: AppSocket, fn: () => void): () => void {
  socket.on('connect', fn)
  if (socket.connected) fn()
  return () => void socket.off('connect', fn)
}

const TIMEOUT_MS = 15_000

/**
 * Emits with an acknowledgement and resolves with the server's `{ok, …}` answer; never rejects. Not being connected,
 * a timeout and a malformed answer come back as `{ok: false, error}` with a message to show.
 */
export function emitAck<T = Record<string, unknown>>(socket: AppSocket, event: string, payload?: unknown, timeoutMs = TIMEOUT_MS): Promise<Ack<T>> {
  if (!socket.connected) {
    return Promise.resolve({
      ok: false,
      error: { code: 'offline', message: 'Not connected to the server, so nothing was sent. Try again once the connection is back.' },
    })
  }
  return new Promise((resolve) => {
    const done = (err: Error | null, answer: unknown) => {
      if (err) {
        resolve({ ok: false, error: { code: 'timeout', message: `The server did not answer "${event}" in time. Check the state before trying again.` } })
        return
      }
      resolve(normalizeAck<T>(answer))
    }
    // An event without a payload (`actors:list`) is emitted with the ack alone.
    if (payload === undefined) socket.timeout(timeoutMs).emit(event, done)
    else socket.timeout(timeoutMs).emit(event, payload, done)
  })
}

/** Acks are `{ok, …}`; a bare array or object (admin lists) counts as success under `data`. */
export function normalizeAck<T>(answer: unknown): Ack<T> {
  if (answer && typeof answer === 'object' && !Array.isArray(answer) && 'ok' in answer) {
    const a = answer as { ok: unknown; error?: { code?: unknown; message?: unknown } }
    if (a.ok === true) return answer as Ack<T>
    const code = typeof a.error?.code === 'string' ? a.error.code : 'error'
    const message = typeof a.error?.message === 'string' ? a.error.message : 'The server refused the request.'
    return { ok: false, error: { code, message } }
  }
  return { ok: true, data: answer } as Ack<T>
}

/** A separate socket on the `/admin` namespace (admins only); the caller disconnects it. */
export function openAdminSocket(set: (c: Connection) => void): AppSocket {
  const socket = io('/admin', { withCredentials: true, transports: ['websocket', 'polling'], tryAllTransports: true, forceNew: true })
  track(socket, set)
  return socket
}
