import type { InjectedMessage } from '../../schemas/events.ts'
import type { CallbackClient } from './callback.ts'

/** Polls the messages people send to the agent and keeps them until the next model turn takes them. */
export class Inbox {
  private after: number | null = null
  private waiting: InjectedMessage[] = []
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(
    private readonly client: CallbackClient,
    private readonly pollMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.schedule(0)
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  take(): InjectedMessage[] {
    return this.waiting.splice(0)
  }

  private schedule(delay: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.poll()
        .catch(this.onError)
        .finally(() => this.schedule(this.pollMs))
    }, delay)
  }

  private async poll(): Promise<void> {
    for (const message of await this.client.getMessages(this.after)) {
      if (this.after !== null && message.seq <= this.after) continue
      this.waiting.push(message)
      this.after = Math.max(this.after ?? 0, message.seq)
    }
  }
}
