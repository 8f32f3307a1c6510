import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { ModelUsage } from '../../actors/pricing.ts'

/**
 * One POST to the model API with node:http(s) rather than fetch: Node's fetch gives up on a response whose headers
 * take over 300 s (and the SDK then sends the call again, billed twice); here only `signal` ends the call.
 */
export function postUpstream(url: string, headers: Record<string, string>, body: Buffer, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(target, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, signal }, resolve)
    req.on('error', reject)
    req.end(body)
  })
}

/** The usage of a non-streamed answer (its JSON body). */
export function usageOfJson(text: string): ModelUsage {
  try {
    return normalize((JSON.parse(text) as { usage?: Partial<ModelUsage> }).usage)
  } catch {
    return normalize(undefined)
  }
}

function normalize(u: Partial<ModelUsage> | undefined): ModelUsage {
  return {
    input_tokens: Number(u?.input_tokens) || 0,
    output_tokens: Number(u?.output_tokens) || 0,
    cache_creation_input_tokens: Number(u?.cache_creation_input_tokens) || 0,
    cache_read_input_tokens: Number(u?.cache_read_input_tokens) || 0,
  }
}

/**
 * Reads the usage of a streamed answer from its server-sent events as they pass: the prompt's tokens come in
 * `message_start`, the output (cumulative, sometimes with final input counts) in each `message_delta`.
 */
export class SseUsage {
  private buffer = ''
  private readonly usage: ModelUsage = normalize(undefined)

  push(chunk: string): void {
    this.buffer += chunk
    let end: number
    while ((end = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, end).trim()
      this.buffer = this.buffer.slice(end + 1)
      if (line.startsWith('data:')) this.read(line.slice(5).trim())
    }
  }

  get total(): ModelUsage {
    return { ...this.usage }
  }

  private read(data: string): void {
    let event: { type?: string; message?: { usage?: Partial<ModelUsage> }; usage?: Partial<ModelUsage> }
    try {
      event = JSON.parse(data)
    } catch {
      return
    }
    const seen = event.type === 'message_start' ? event.message?.usage : event.type === 'message_delta' ? event.usage : undefined
    if (!seen) return
    for (const key of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const) {
      const value = Number(seen[key])
      if (Number.isFinite(value) && seen[key] !== null && seen[key] !== undefined) this.usage[key] = value
    }
  }
}
