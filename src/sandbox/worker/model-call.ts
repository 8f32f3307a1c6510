import Anthropic from '@anthropic-ai/sdk'
import { setTimeout as sleep } from 'node:timers/promises'
import { SandboxEndedError } from './callback.ts'
import type { EventQueue } from './events.ts'
import { errorMessage } from './log.ts'

/** The server's proxy refused the call because the spec's budget is spent: a stop, not an error. */
export class BudgetSpentError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BudgetSpentError'
  }
}

/** A model failure that retrying cannot fix: its message is what the room reads. */
export class ModelFailure extends Error {
  override name = 'ModelFailure'
}

/** The API refused the prompt as longer than the model's window (400 "prompt is too long"): a smaller one may pass. */
export class ContextOverflow extends ModelFailure {
  override name = 'ContextOverflow'
}

export type WaitReason = 'rate_limited' | 'overloaded' | 'server_error' | 'connection'

/** A wait is never longer than this, whatever `retry-after` asks for. */
export const MAX_WAIT_MS = 60_000
const FIRST_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 30_000
/**
 * A turn whose answer broke off this many times fails instead of waiting on: a connection that never lets an answer
 * arrive whole, or an answer the SDK cannot assemble, repeats itself, and every broken answer was paid for.
 */
const MAX_BROKEN_ANSWERS = 4
/** Above this output budget the SDK refuses a non-streaming call (it could outlast its 10-minute timeout). */
const STREAM_ABOVE_TOKENS = 16_384

export interface ModelCaller {
  model: Anthropic
  events: EventQueue
  /** Epoch ms after which no further wait is started. */
  deadline: number
  /** The key is the sandbox token (the server's proxy): a 401 there means the sandbox has ended. */
  viaProxy: boolean
  /** Aborted when the worker must stop (the sandbox ended): the call in flight is dropped. */
  signal: AbortSignal
}

function serverCode(err: InstanceType<typeof Anthropic.APIError>): string | undefined {
  const body = err.error as { error?: { code?: unknown } } | undefined
  return typeof body?.error?.code === 'string' ? body.error.code : undefined
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'))
  if (ms > 0) return ms
  const value = headers?.get('retry-after')
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

/**
 * The HTTP status an error type of the API stands for. A streamed answer is answered 200 and may then end in an
 * `error` event (`overloaded_error` most often): the SDK's error has no status then, only the type.
 */
const STATUS_OF_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
}

/** An error's HTTP status; an error event in a stream counts by its type, an unknown one as a server error (500). */
function statusOf(err: InstanceType<typeof Anthropic.APIError>): number {
  if (err.status) return err.status
  return STATUS_OF_TYPE[String(err.type)] ?? 500
}

/**
 * Whether an error says the answer broke off after it began: a stream that ended before `message_stop` or failed while
 * read (the SDK's plain AnthropicError, never thrown before a stream is sent), a body cut short (undici's TypeError
 * "terminated") or left unparseable (SyntaxError). A new call gets a new answer, so these are waited out like a lost
 * connection; nothing of the broken answer is used.
 */
function brokeOff(err: unknown, streamed: boolean): boolean {
  if (err instanceof Anthropic.APIError) return false
  if (streamed && err instanceof Anthropic.AnthropicError) return true
  return (err instanceof TypeError && err.message === 'terminated') || err instanceof SyntaxError
}

interface Wait {
  reason: WaitReason
  retryAfter?: number
  detail: string
  /** The answer began and broke off (counted against MAX_BROKEN_ANSWERS). */
  broken?: true
}

/** What to do with a failed call: wait and retry (with why), or stop (throws). */
function classify(err: unknown, viaProxy: boolean, streamed: boolean): Wait {
  if (err instanceof Anthropic.APIConnectionError) return { reason: 'connection', detail: err.message }
  if (brokeOff(err, streamed)) return { reason: 'connection', detail: `the answer broke off: ${errorMessage(err)}`, broken: true }
  if (!(err instanceof Anthropic.APIError)) throw err
  const status = statusOf(err)
  const retryAfter = retryAfterMs(err.headers)
  if (status === 401 && viaProxy && serverCode(err) === 'unauthenticated') throw new SandboxEndedError()
  if (status === 402) throw new BudgetSpentError(err.message)
  if (status === 429) return { reason: 'rate_limited', retryAfter, detail: `429: ${err.message}` }
  if (status === 529) return { reason: 'overloaded', retryAfter, detail: `529: ${err.message}` }
  if (status >= 500 || status === 408 || status === 409) return { reason: 'server_error', retryAfter, detail: `${status}: ${err.message}` }
  if (status === 401) throw new ModelFailure(`the model API rejected the API key (401): ${err.message}`)
  if (status === 403) throw new ModelFailure(`the model API refused this API key access (403): ${err.message}`)
  if (status === 400 && /prompt is too long/i.test(err.message)) {
    throw new ContextOverflow(`the model API rejected the request (400): ${err.message}`)
  }
  if (status === 400) throw new ModelFailure(`the model API rejected the request (400): ${err.message}`)
  throw new ModelFailure(`the model API refused the call (${status}): ${err.message}`)
}

function backoff(attempt: number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1))
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
}

/**
 * One model turn. Large output budgets are streamed (the SDK assembles the message). Rate limits, overload (a 529 or
 * an `overloaded_error` event mid-stream), server errors, lost connections and answers that broke off are waited out
 * — each wait announced as `agent.waiting {reason, attempt, retry_in_ms}`, `retry-after` honoured up to MAX_WAIT_MS —
 * until the deadline, or until the answer broke off MAX_BROKEN_ANSWERS times. Throws SandboxEndedError,
 * BudgetSpentError or ModelFailure (ContextOverflow for a prompt longer than the window) when retrying the same request
 * cannot help.
 */
export async function callModel(c: ModelCaller, params: Anthropic.MessageCreateParamsNonStreaming): Promise<Anthropic.Message> {
  const streamed = params.max_tokens > STREAM_ABOVE_TOKENS
  let broken = 0
  for (let attempt = 1; ; attempt++) {
    try {
      if (streamed) return await c.model.messages.stream(params, { signal: c.signal }).finalMessage()
      return await c.model.messages.create(params, { signal: c.signal })
    } catch (err) {
      if (c.signal.aborted) throw new SandboxEndedError()
      const wait = classify(err, c.viaProxy, streamed)
      if (wait.broken && ++broken >= MAX_BROKEN_ANSWERS) {
        throw new ModelFailure(`the model's answer broke off ${broken} times for one turn (${wait.detail})`)
      }
      const delay = Math.min(MAX_WAIT_MS, wait.retryAfter ?? backoff(attempt))
      if (Date.now() + delay > c.deadline) {
        throw new ModelFailure(`the model API kept failing until the deadline (${wait.detail || errorMessage(err)})`)
      }
      c.events.push('agent.waiting', { reason: wait.reason, attempt, retry_in_ms: delay })
      await sleep(delay, undefined, { signal: c.signal }).catch(() => {
        throw new SandboxEndedError()
      })
    }
  }
}
