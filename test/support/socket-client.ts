import { isDeepStrictEqual } from 'node:util'
import { io, type Socket } from 'socket.io-client'
import type {
  AdminClientToServerEvents,
  AdminServerToClientEvents,
  ClientToServerEvents,
  JoinAnswer,
  ServerToClientEvents,
} from '../../src/sockets/types.ts'
import type { SpecEvent } from '../../src/schemas/events.ts'
import { waitFor } from './wait.ts'

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>
export type AdminTestSocket = Socket<AdminServerToClientEvents, AdminClientToServerEvents>

export interface ConnectOptions {
  /** Sent as `auth: {token}`. */
  token?: string
  /** Extra handshake headers (cookie, origin). */
  headers?: Record<string, string>
  /** Reconnect by itself after losing the server (default false: tests reconnect explicitly). */
  reconnection?: boolean
}

/** A real socket.io-client over WebSocket, not connected yet until `connected()` / `refused()` is awaited. */
export function connect(url: string, options: ConnectOptions = {}): TestSocket {
  return open(url, options) as TestSocket
}

export function connectAdmin(url: string, options: ConnectOptions = {}): AdminTestSocket {
  return open(`${url}/admin`, options) as AdminTestSocket
}

function open(url: string, options: ConnectOptions): Socket {
  return io(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: options.reconnection ?? false,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    ...(options.token ? { auth: { token: options.token } } : {}),
    ...(options.headers ? { extraHeaders: options.headers } : {}),
  })
}

/** Resolves once connected; rejects with the server's refusal. */
export function connected(socket: Socket, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve()
    const timer = setTimeout(() => reject(new Error('timed out connecting')), timeoutMs)
    socket.once('connect', () => (clearTimeout(timer), resolve()))
    socket.once('connect_error', (err) => (clearTimeout(timer), reject(err)))
    socket.connect()
  })
}

/** Resolves with the `connect_error` the server answers the handshake with. */
export function refused(socket: Socket, timeoutMs = 10_000): Promise<Error & { data?: unknown }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for connect_error')), timeoutMs)
    socket.once('connect', () => (clearTimeout(timer), reject(new Error('connected, but a refusal was expected'))))
    socket.once('connect_error', (err) => (clearTimeout(timer), resolve(err)))
  })
}

/** Emits with an ack and resolves with the answer; rejects when none comes within the timeout. */
export function ask<S extends Socket>(socket: S, event: string, ...payload: unknown[]): Promise<any> {
  return (socket as Socket).timeout(10_000).emitWithAck(event, ...payload)
}

/** Everything one event name brings (or what is `add`ed, without a socket), with a wait for a condition on it. */
export class Collector<T> {
  readonly items: T[] = []
  private waiters = new Set<() => void>()

  constructor(socket?: Socket, event?: string, keep: (item: T) => boolean = () => true) {
    if (socket && event) socket.on(event, (item: T) => keep(item) && this.add(item))
  }

  add(item: T): void {
    this.items.push(item)
    for (const check of this.waiters) check()
  }

  /** Resolves with the items once `done(items)` holds. */
  until(done: (items: T[]) => boolean, what: string, timeoutMs = 30_000): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done(this.items)) return
        this.waiters.delete(check)
        clearTimeout(timer)
        resolve(this.items)
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`timed out waiting for ${what} (have ${this.items.length})`))
      }, timeoutMs)
      this.waiters.add(check)
      check()
    })
  }
}

/**
 * One viewer of one spec: what its joins replayed and the live events, in the order the client received them. With
 * `batch` it joins with `batch: true` and takes the `spec:events` arrays (counted in `frames`); without, `spec:event`.
 */
export class SpecView {
  readonly received: Collector<SpecEvent>
  /** The live arrays a batch viewer was sent (`spec:events`), each as it came. */
  readonly frames: SpecEvent[][] = []
  /** Live messages of the other kind than the view asked for (must stay 0). */
  strays = 0

  constructor(
    readonly socket: TestSocket,
    readonly specId: string,
    readonly options: { batch?: boolean } = {},
  ) {
    this.received = new Collector<SpecEvent>()
    socket.on('spec:event', (event) => {
      if (event.spec_id !== specId) return
      if (options.batch) this.strays++
      else this.received.add(event)
    })
    socket.on('spec:events', (events) => {
      if (events[0]?.spec_id !== specId) return
      if (!options.batch) return void this.strays++
      this.frames.push(events)
      for (const event of events) this.received.add(event)
    })
  }

  /**
   * Joins (after `afterSeq` when given). The replay is recorded in the ack callback itself: live events may follow in
   * the same network read, before an awaiting caller would resume.
   */
  join(afterSeq?: number): Promise<Extract<JoinAnswer, { ok: true }>> {
    const payload = {
      spec_id: this.specId,
      ...(afterSeq === undefined ? {} : { after_seq: afterSeq }),
      ...(this.options.batch ? { batch: true } : {}),
    }
    return new Promise((resolve, reject) => {
      this.socket.timeout(10_000).emit('spec:join', payload, (err: Error | null, answer: JoinAnswer) => {
        if (err) return reject(err)
        if (!answer.ok) return reject(new Error(`join refused: ${JSON.stringify(answer.error)}`))
        for (const event of answer.events) this.received.add(event)
        resolve(answer)
      })
    })
  }

  get stream(): SpecEvent[] {
    return this.received.items
  }

  get lastSeq(): number {
    return this.stream.at(-1)?.seq ?? 0
  }

  /** Waits until an event of this type arrived. */
  async waitForType(type: string, timeoutMs?: number): Promise<void> {
    await this.received.until((items) => items.some((e) => e.type === type), `a ${type} event`, timeoutMs)
  }

  /**
   * Waits until what arrived equals the log as `read` returns it (an agent's last events may follow the one a test
   * waited for) and returns that log; on a timeout returns the last one read, for the caller's assertion to show.
   */
  async settle<T>(read: () => Promise<T[]>, timeoutMs = 10_000): Promise<T[]> {
    let log: T[] = []
    await waitFor(
      async () => {
        log = await read()
        return isDeepStrictEqual(this.stream, log)
      },
      { timeoutMs, what: 'the viewer to have the whole log' },
    ).catch(() => {})
    return log
  }

  /** Waits until at least `count` events arrived in all. */
  async waitForCount(count: number, timeoutMs?: number): Promise<void> {
    await this.received.until((items) => items.length >= count, `${count} events`, timeoutMs)
  }
}

export const seqs = (events: { seq: number }[]) => events.map((e) => e.seq)
