import { randomUUID } from 'node:crypto'
import type { AgentEvent, AgentEventType } from '../../schemas/events.ts'
import { CallbackError, type CallbackClient } from './callback.ts'
import { log } from './log.ts'

const BATCH = 100
const FLUSH_AFTER_MS = 250

/**
 * Agent events, sent in order and in batches. Each event gets its UUID when it is created,
 * so a batch retried after a lost answer is stored once.
 */
export class EventQueue {
  private pending: AgentEvent[] = []
  private sending: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined

  /** `onError` receives what a background flush could not handle (the sandbox was ended). */
  constructor(
    private readonly client: CallbackClient,
    private readonly onError: (err: unknown) => void,
  ) {}

  push(type: AgentEventType, data: Record<string, unknown>): void {
    this.pending.push({ id: randomUUID(), type, data })
    if (this.pending.length >= BATCH) this.flush().catch(this.onError)
    else this.timer ??= setTimeout(() => this.flush().catch(this.onError), FLUSH_AFTER_MS)
  }

  /** Resolves once every event pushed so far has been sent. */
  flush(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    // Flushes run one after another so batches keep their order; a failed flush does not block the next one.
    this.sending = this.sending.catch(() => {}).then(() => this.sendPending())
    return this.sending
  }

  private async sendPending(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, BATCH)
      try {
        await this.client.postEvents(batch)
      } catch (err) {
        // A batch the server refuses for good (or after the deadline) is dropped, not resent forever.
        if (!(err instanceof CallbackError)) throw err
        log.error('events dropped', { count: batch.length, error: err.message })
      }
      this.pending.splice(0, batch.length)
    }
  }
}
