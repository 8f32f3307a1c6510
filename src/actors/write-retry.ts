import { setTimeout as sleep } from 'node:timers/promises'
import { FencedError } from '../db/actors.ts'
import { backoffMs, isTransientDbError, markDown, markUp } from '../db/transient.ts'
import { logger } from '../log.ts'

const log = logger('omoi:actors')

/**
 * What the host does about a failed write of a spec's state: `retry` (the database is briefly away: hold the actor and
 * write again) or `stop` (the write itself is refused: the actor must not run ahead of what is stored). A lease that
 * fences this node out is a `stop`, never a retry.
 */
export type WriteFailure = 'retry' | 'stop'

export function classifyWriteError(err: unknown): WriteFailure {
  if (err instanceof FencedError) return 'stop'
  return isTransientDbError(err) ? 'retry' : 'stop'
}

export type WriteOutcome<T> = { stored: true; value: T } | { stored: false; error: unknown }

/**
 * Runs `write` until it lands, waiting with backoff (100 ms up to 5 s) after each failure `classifyWriteError` calls
 * `retry`. Resolves `{stored: false}` on a `stop` failure, or when `signal` aborts (shutdown) while waiting.
 */
export async function writeUntilStored<T>(what: { spec_id: string }, write: () => Promise<T>, signal: AbortSignal): Promise<WriteOutcome<T>> {
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await write()
      markUp()
      return { stored: true, value }
    } catch (error) {
      if (classifyWriteError(error) === 'stop' || signal.aborted) return { stored: false, error }
      markDown()
      if (attempt === 0) log.warn('a transition waits for the database', { ...what, err: error })
      const waited = await sleep(backoffMs(attempt), true, { signal }).catch(() => false)
      if (!waited) return { stored: false, error }
    }
  }
}
