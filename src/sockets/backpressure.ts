import type { Socket } from 'socket.io'
import { logger } from '../log.ts'

const log = logger('omoi:sockets')

type Connection = Socket['conn']

/**
 * Bounds what one slow client can make the server hold. Engine.io hands a batch of packets to the WebSocket and takes
 * no more until the kernel accepted all of it; meanwhile every emit waits in the connection's `writeBuffer`, which has
 * no limit. A client that stops reading is only dropped by the heartbeat (pingInterval + pingTimeout: up to 45 s).
 *
 * Measured (a viewer whose TCP socket is paused, loopback, Linux tcp_wmem max 4 MiB): the kernel's socket buffers
 * swallow the first 4–7 MB (~395 events of 10 KB, ~110 of 60 KB), then `writeBuffer` grows by one packet per
 * emit, without bound, and stays in memory until the heartbeat drops the client.
 *
 * The bound is on BYTES queued beyond what the kernel holds, not packets: a gap filled from the log is sent as
 * thousands of small `spec:event` packets at once to a client that reads them in milliseconds, while a few large events
 * can already be megabytes. A healthy client's queue is empty between two deliveries, so the bound is checked before
 * each delivery (a batch of events, for every socket it goes to), not per packet: one large batch may be queued at once.
 */
export const MAX_QUEUED_BYTES = 8 * 1024 * 1024

/** The largest message a client may send: a command's text and feedback (≤ 20 000 characters each) fit easily. */
export const MAX_MESSAGE_BYTES = 256 * 1024

interface QueuedPacket {
  data?: string | ArrayBufferView | ArrayBuffer
}

/** `writeBuffer` is private in engine.io's typings; it is the queue the transport drains. */
const writeBuffer = (socket: Socket): QueuedPacket[] => (socket.conn as unknown as { writeBuffer?: QueuedPacket[] }).writeBuffer ?? []

/** Packets emitted to this socket that its transport has not taken yet. */
export function queuedPackets(socket: Socket): number {
  return writeBuffer(socket).length
}

/** Bytes emitted to this socket that its transport has not taken yet (UTF-8, as they will be sent). */
export function queuedBytes(socket: Socket): number {
  let bytes = 0
  for (const packet of writeBuffer(socket)) {
    const data = packet.data
    bytes += data === undefined ? 0 : typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
  }
  return bytes
}

/**
 * Whether the socket may be written to now. One that is over the bound is hung up on; its client reconnects and
 * rejoins with `after_seq`, so it misses nothing.
 */
export function keepUp(socket: Socket): boolean {
  if (!socket.connected) return false
  if (queuedPackets(socket) === 0) return true
  const queued = queuedBytes(socket)
  if (queued <= MAX_QUEUED_BYTES) return true
  log.warn('dropping a client that does not keep up', { socket: socket.id, user: socket.data?.user?.id, queued_bytes: queued })
  hangUp(socket.conn)
  return false
}

/**
 * Ends a connection at once, discarding its queue. A plain close would wait for the queue to drain, and ws waits up to
 * 30 s for the closing handshake of a peer that is not reading: the TCP socket is destroyed instead.
 */
export function hangUp(conn: Connection): void {
  // the WebSocket transport's `socket` (a ws WebSocket) is private in engine.io's typings; polling has none
  const ws = (conn.transport as unknown as { socket?: { terminate?: () => void } }).socket
  conn.close(true)
  ws?.terminate?.()
}
