import type { ExtendedError } from 'socket.io'
import { isTransientDbError } from '../db/transient.ts'
import { AppError } from '../errors.ts'
import { logger } from '../log.ts'
import type { AnswerOf, Refusal, SocketError } from './types.ts'

/**
 * Sockets' one error mapper: AppError → `{ok: false, error}`, a database outage → `unavailable`, anything else →
 * `internal` (logged, no stack sent).
 */

const log = logger('omoi:sockets')

export const INTERNAL: SocketError = { code: 'internal', message: 'Something went wrong on the server; it has been logged.' }

/** Handshake refusals; the client's `connect_error` carries the code as its message and this in `data`. */
export const HANDSHAKE_REFUSALS = {
  unauthenticated: { code: 'unauthenticated', message: 'Sign in first, or connect with auth: {token}.' },
  forbidden: { code: 'forbidden', message: 'Only administrators may connect to /admin.' },
  internal: INTERNAL,
} as const satisfies Record<string, SocketError>

export function refuseHandshake(reason: keyof typeof HANDSHAKE_REFUSALS): ExtendedError {
  const err: ExtendedError = new Error(reason)
  err.data = HANDSHAKE_REFUSALS[reason]
  return err
}

export function toRefusal(err: unknown, event: string): Refusal {
  if (err instanceof AppError) return { ok: false, error: err.toJSON(), ...(err.retryAfterS !== undefined ? { retry_after_s: err.retryAfterS } : {}) }
  // a database outage is a wait, as over REST (503): the client retries
  if (isTransientDbError(err)) return { ok: false, error: { code: 'unavailable', message: 'The database is unavailable for a moment; retry shortly.' } }
  log.error('socket request failed', { event, err })
  return { ok: false, error: INTERNAL }
}

type Handler<F> = (payload: unknown, reply: (answer: AnswerOf<F>) => void) => Promise<void>

/**
 * Wraps a request handler for `socket.on(event, …)`. The ack is the last argument when it is a function (a client may
 * send the ack alone, or no ack: then the answer goes nowhere). The handler replies once; a throw before it replied
 * becomes the refusal, a throw after is only logged.
 */
export function request<F extends (...args: any[]) => void>(event: string, handler: Handler<F>): F {
  const listener = (...args: unknown[]) => {
    const last = args.at(-1)
    const ack = typeof last === 'function' ? (last as (answer: unknown) => void) : () => {}
    const payload = args[0] === last && typeof last === 'function' ? undefined : args[0]
    let replied = false
    const reply = (answer: unknown) => {
      if (replied) return
      replied = true
      ack(answer)
    }
    handler(payload, reply).catch((err: unknown) => {
      if (replied) log.error('socket request failed after its answer', { event, err })
      else reply(toRefusal(err, event))
    })
  }
  return listener as F
}
