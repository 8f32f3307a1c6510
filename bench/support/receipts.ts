import type { Socket } from 'socket.io-client'

/**
 * Receipt stamps for the fan-out viewers, taken where a frame reaches the viewer's connection, before Socket.IO decodes
 * it. All viewers share one process (one core), so a stamp taken in the event handler would wait for every frame the
 * process read before it to be decoded: with 1,000 viewers, the last one's receipt of a batch would include 999 other
 * viewers' JSON.parse, where real viewers each decode on their own machine. The ws/engine.io work of reading the frame
 * stays before the stamp; decoding happens afterwards in slices between two polls for I/O, so that frames already
 * waiting in the kernel are stamped first. Every frame is still decoded and handed over, in the order it arrived.
 */

/** How every `spec:event` / `spec:events` broadcast of namespace `/` starts on the wire (socket.io-parser EVENT, no ack id). */
const EVENT_FRAME = '2["spec:event'
/** Decoding yields to I/O after this long. */
const SLICE_MS = 1

type Take = (event: string, payload: unknown, at: number) => void

const waiting: { at: number; raw: string; take: Take }[] = []
let head = 0
let scheduled = false

function drain(): void {
  const until = performance.now() + SLICE_MS
  while (head < waiting.length && performance.now() < until) {
    const { at, raw, take } = waiting[head]!
    waiting[head++] = undefined as never
    const [event, payload] = JSON.parse(raw.slice(1)) as [string, unknown]
    take(event, payload, at)
  }
  if (head < waiting.length) return void setImmediate(drain)
  waiting.length = head = 0
  scheduled = false
}

/**
 * From now on, the socket's event frames are stamped (performance.now(), ms) when the connection hands them over and
 * given to `take` later, decoded, with that stamp; they do not reach the socket's own listeners. Any other packet
 * (acks, presence, connect) goes through Socket.IO as before. Call right after `io()`, before the connection opens.
 */
export function stampEventFrames(socket: Socket, take: Take): void {
  // Manager binds `this.ondata` to the engine's "data" event when the connection opens
  const manager = socket.io as unknown as { ondata(data: unknown): void }
  const ondata = manager.ondata
  manager.ondata = function (data: unknown) {
    if (typeof data !== 'string' || !data.startsWith(EVENT_FRAME)) return ondata.call(this, data)
    waiting.push({ at: performance.now(), raw: data, take })
    if (!scheduled) {
      scheduled = true
      setImmediate(drain)
    }
  }
}
