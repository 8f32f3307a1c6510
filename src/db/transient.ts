import { setTimeout as sleep } from 'node:timers/promises'
import { logger } from '../log.ts'

const log = logger('omoi:db')

/**
 * SQLSTATEs that say "the database is briefly not there or not willing", not "this write is wrong": connection
 * exceptions (class 08), admin/crash shutdown and "cannot connect now" (57P01–57P03), too many connections (53300),
 * serialization failure and deadlock (40001, 40P01).
 */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '53400', '40001', '40P01'])
/** Socket errors and postgres.js's own connection errors. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
])

/**
 * Whether a database error is a wait (retry once the database is back) rather than a failure. A transient error is
 * never allowed to become a spec or phase failure; everything else (a constraint, a bad value, "fenced out") is
 * permanent and must not be retried blindly.
 */
export function isTransientDbError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return false
  return TRANSIENT_SQLSTATES.has(code) || code.startsWith('08') || TRANSIENT_CODES.has(code)
}

/** Delay before retry `attempt` (0-based): 100 ms doubling up to 5 s. */
export const backoffMs = (attempt: number) => Math.min(5000, 100 * 2 ** Math.min(attempt, 6))

/**
 * Runs `fn`, retrying with backoff for as long as it fails transiently (the database is restarting, unreachable or
 * full). A permanent error, or `signal` aborting, ends the wait with that error.
 */
export async function retryTransient<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await fn()
      markUp()
      return result
    } catch (err) {
      if (!isTransientDbError(err) || signal?.aborted) throw err
      markDown()
      if (attempt === 0) log.warn('database unavailable; waiting for it', { what, code: (err as { code: string }).code })
      await sleep(backoffMs(attempt), undefined, signal ? { signal } : {})
    }
  }
}

const backListeners = new Set<() => void>()
let down = false

/** Calls `listener` each time the database answers again after retryTransient saw it unavailable. Returns an off switch. */
export function onDatabaseBack(listener: () => void): () => void {
  backListeners.add(listener)
  return () => backListeners.delete(listener)
}

/** Called by retry loops: the database just failed transiently. */
export function markDown(): void {
  down = true
}

/** Called by retry loops: the database answered; after an outage this tells the listeners once. */
export function markUp(): void {
  if (!down) return
  down = false
  log.info('database answers again')
  for (const listener of backListeners) listener()
}
