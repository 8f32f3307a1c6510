import type { Socket } from 'socket.io-client'

/**
 * Receipt stamps for the fan-out viewers, taken where a frame reaches the viewer's connection, before Socket.IO decodes
 * it. All viewers share one process (one core), so a stamp taken in the event handler would wait for every frame the
 * process read before it to be decoded: with 1,000 viewers, the last one's receipt of a batch would include 999 other
 * viewers' JSON.parse, where real viewers each decode on their own machine. The same holds for joining: the n-th of
 * n people gets a join answer listing n people and a presence delta for everyone after it, n² entries in all, which
 * real browsers parse in parallel. The ws/engine.io work of reading a frame stays before the stamp; decoding happens
 * afterwards in slices between two polls for I/O, so that frames already waiting in the kernel are stamped first.
 * Every frame is still decoded and handed over, in the order it arrived.
 */

/** How every `spec:event` / `spec:events` broadcast of namespace `/` starts on the wire (socket.io-parser EVENT, no ack id). */
const EVENT_FRAME = '2["spec:event'
const PRESENCE_FRAME = '2["spec:presence"'
/** An ACK (type 3, its id) whose answer is `{ok: true, …}`: a join let in (key order is the server's, `ok` first). */
const OK_ANSWER = /^3\d+\[\{"ok":true[,}]/
/** Decoding yields to I/O after this long. */
const SLICE_MS = 1

const waiting: (() => void)[] = []
let head = 0
let scheduled = false
let held = false
let emptied: (() => void)[] = []

function drain(): void {
  if (held) return void (scheduled = false)
  const until = performance.now() + SLICE_MS
  while (head < waiting.length && performance.now() < until) {
    const run = waiting[head]!
    waiting[head++] = undefined as never
    run()
  }
  if (head < waiting.length) return void setImmediate(drain)
  waiting.length = head = 0
  scheduled = false
  for (const resolve of emptied.splice(0)) resolve()
}

function defer(run: () => void): void {
  waiting.push(run)
  if (!scheduled && !held) {
    scheduled = true
    setImmediate(drain)
  }
}

/** What a viewer is told when a frame arrives; `at` is performance.now() (ms) when the connection handed it over. */
export interface Arrivals {
  /** An event frame, decoded later, with its arrival stamp; it does not reach the socket's own listeners. */
  events(name: string, payload: unknown, at: number): void
  /** A `spec:presence` frame arrived; its payload reaches the socket's listeners later, decoded. */
  presence(at: number): void
  /** An answer `{ok: true, …}` arrived; its ack callback runs later, decoded (a refusal is not deferred). */
  answered(at: number): void
}

/**
 * From now on, the socket's event and presence frames and its `ok` answers are stamped when the connection hands them
 * over and decoded later (see above); any other packet (a refusal, connect, disconnect) goes through Socket.IO at once.
 * Call right after `io()`, before the connection opens.
 */
export function stampArrivals(socket: Socket, arrivals: Arrivals): void {
  // Manager binds `this.ondata` to the engine's "data" event when the connection opens
  const manager = socket.io as unknown as { ondata(data: unknown): void }
  const ondata = manager.ondata
  manager.ondata = function (data: unknown) {
    if (typeof data !== 'string') return ondata.call(this, data)
    const at = performance.now()
    if (data.startsWith(EVENT_FRAME)) {
      return defer(() => {
        const [name, payload] = JSON.parse(data.slice(1)) as [string, unknown]
        arrivals.events(name, payload, at)
      })
    }
    if (data.startsWith(PRESENCE_FRAME)) arrivals.presence(at)
    else if (OK_ANSWER.test(data)) arrivals.answered(at)
    else return ondata.call(this, data)
    defer(() => ondata.call(this, data))
  }
}

/**
 * While a crowd joins, frames wait undecoded (a few tens of MB at most): each joiner's answer and presence deltas are
 * its own browser's work, and parsing them here would take the CPU the servers being timed need. `decoded()` resumes.
 */
export function holdDecoding(): void {
  held = true
}

/** Decodes whatever waits (resuming after `holdDecoding`) and resolves once every frame so far has been handed over. */
export function decoded(): Promise<void> {
  held = false
  if (head < waiting.length && !scheduled) {
    scheduled = true
    setImmediate(drain)
  }
  return scheduled ? new Promise((resolve) => emptied.push(resolve)) : Promise.resolve()
}
