import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Assignment } from '../../schemas/assignment.ts'
import type { AgentEvent, InjectedMessage, ResultVerdict, Usage } from '../../schemas/events.ts'
import { errorMessage, log } from './log.ts'
import { head } from '../../schemas/text.ts'

/** The server answered 401: this sandbox has been ended and must stop quietly. */
export class SandboxEndedError extends Error {
  constructor() {
    super('the server ended this sandbox')
    this.name = 'SandboxEndedError'
  }
}

/** The server refused a call for good (a 4xx other than 401/429), or the deadline passed while retrying. */
export class CallbackError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message)
    this.name = 'CallbackError'
  }
}

export interface ResultBody {
  outcome: 'submitted' | 'failed'
  output?: unknown
  error?: string
  usage: Usage
}

const FIRST_DELAY_MS = 200
const MAX_DELAY_MS = 5_000
const DEADLINE_BEFORE_ASSIGNMENT_MS = 10 * 60_000

/**
 * The client of CONTRACT §7. Every call is retried with exponential backoff and full jitter on network errors,
 * 5xx and 429, until the deadline: the server may restart while a sandbox works, and must lose nothing.
 */
export class CallbackClient {
  private deadline = Date.now() + DEADLINE_BEFORE_ASSIGNMENT_MS
  private readonly base: string

  /** `fetch` reaches the server (src/sandbox/worker/transport.ts). */
  constructor(
    baseUrl: string,
    sandboxId: string,
    private readonly token: string,
    private readonly fetch: typeof globalThis.fetch = globalThis.fetch,
  ) {
    this.base = `${baseUrl.replace(/\/+$/, '')}/sandboxes/${encodeURIComponent(sandboxId)}`
  }

  /** Once the assignment is known, retries stop at its deadline. */
  setDeadline(at: number): void {
    this.deadline = at
  }

  getAssignment(): Promise<Assignment> {
    return this.call<Assignment>('GET', '/assignment')
  }

  postEvents(events: AgentEvent[]): Promise<{ accepted: number; duplicates: number }> {
    return this.call('POST', '/events', { events })
  }

  /** The id is made once per result, so a retried post is recognized by the server. */
  postResult(result: ResultBody): Promise<ResultVerdict> {
    return this.call('POST', '/result', { id: randomUUID(), ...result })
  }

  async getMessages(after: number | null): Promise<InjectedMessage[]> {
    const query = after === null ? '' : `?after=${after}`
    const answer = await this.call<{ messages: InjectedMessage[] }>('GET', `/messages${query}`)
    return answer.messages
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const init: RequestInit = {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }
    for (let attempt = 0; ; attempt++) {
      let problem: string
      try {
        const response = await this.fetch(this.base + path, { ...init, signal: AbortSignal.timeout(60_000) })
        if (response.ok) return (await response.json()) as T
        if (response.status === 401) throw new SandboxEndedError()
        const text = head(await response.text(), 500)
        if (response.status !== 429 && response.status < 500) {
          log.warn('callback refused', { method, path, status: response.status, body: text })
          throw new CallbackError(`${method} ${path} answered ${response.status}: ${text}`, response.status)
        }
        problem = `status ${response.status}`
      } catch (err) {
        if (err instanceof SandboxEndedError || err instanceof CallbackError) throw err
        problem = errorMessage(err)
      }
      const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt)
      const delay = ceiling / 2 + (Math.random() * ceiling) / 2
      if (Date.now() + delay > this.deadline) {
        throw new CallbackError(`${method} ${path} kept failing until the deadline (${problem})`, null)
      }
      log.warn('callback failed, retrying', { method, path, problem, attempt })
      await sleep(delay)
    }
  }
}
