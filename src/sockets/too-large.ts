import type { Socket } from 'socket.io'
import { logger } from '../log.ts'
import { MAX_MESSAGE_BYTES } from './backpressure.ts'
import type { Refusal } from './types.ts'

const log = logger('omoi:sockets')

/**
 * The largest frame Engine.io reads (its `maxHttpBufferSize`): four times MAX_MESSAGE_BYTES, so a message over the
 * limit can still be read and answered `too_large`. A larger frame closes the connection, as Engine.io does.
 */
export const MAX_FRAME_BYTES = 4 * MAX_MESSAGE_BYTES

const TOO_LARGE: Refusal = {
  ok: false,
  error: { code: 'too_large', message: `The message is larger than ${MAX_MESSAGE_BYTES / 1024} KiB.` },
}

/** UTF-8 bytes of a message's arguments as JSON (a close measure of the frame: the packet header adds a few bytes). */
const messageBytes = (args: unknown[]) => Buffer.byteLength(JSON.stringify(args))

/**
 * Socket middleware: a message over MAX_MESSAGE_BYTES is not handled; its ack (when it has one) is answered
 * `{ok: false, error: {code: 'too_large', message}}`, and the connection stays open.
 */
export function refuseOversized(socket: Socket): void {
  socket.use((packet, next) => {
    const last = packet.at(-1)
    const ack = typeof last === 'function' ? (last as (answer: Refusal) => void) : null
    const bytes = messageBytes(ack ? packet.slice(1, -1) : packet.slice(1))
    if (bytes <= MAX_MESSAGE_BYTES) return next()
    log.info('refused an oversized socket message', { event: String(packet[0]), bytes, user: socket.data?.user?.id })
    ack?.(TOO_LARGE)
  })
}
