import { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { AppError } from '../../errors.ts'
import type { SandboxApi } from '../../actors/sandbox-api.ts'
import type { Config } from '../../config.ts'
import { logger } from '../../log.ts'
import { postUpstream, SseUsage, usageOfJson } from './model-upstream.ts'
import { ModelAnswer, ModelErrorAnswer } from '../../schemas/responses.ts'
import { doc } from '../openapi.ts'

const log = logger('omoi:model-proxy')
const ANTHROPIC_API = 'https://api.anthropic.com'
/** A long conversation with file contents outgrows the 1 MiB limit of the rest of the API. */
const MAX_MODEL_REQUEST_BYTES = 32 * 1024 * 1024
/** How often a call in flight checks that its sandbox still runs. */
const LIVENESS_EVERY_MS = 1_000
const FORWARDED_REQUEST_HEADERS = ['content-type', 'anthropic-version', 'anthropic-beta', 'accept']
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'request-id', 'retry-after', 'retry-after-ms', 'x-should-retry']

const bearer = (c: Context) => /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? c.req.header('x-api-key') ?? null

/**
 * The model API as a sandbox sees it: `POST /sandboxes/:id/model/v1/messages`, authenticated by the sandbox's own token
 * and forwarded with the server's ANTHROPIC_API_KEY. The key never enters a sandbox, where the agent's commands could
 * read it; a sandbox's token only works while that sandbox lives. A spent budget is a 402 before anything is sent.
 * Usage is priced here from the model's own answer, streamed or not. The upstream call ends at OMOI_MODEL_TIMEOUT_MS,
 * when the server stops, or when its sandbox ends (cancel, pause, phase end) — and such a dropped call is not charged.
 */
export function modelProxyRoutes(api: SandboxApi, config: Config, stopping: AbortSignal) {
  return new Hono().post(
    '/:id/model/v1/messages',
    doc({ summary: "The model's Messages API, through the server (the sandbox token as API key)", tag: 'sandboxes', auth: 'sandbox', answer: ModelAnswer, errors: ModelErrorAnswer }),
    bodyLimit({
      maxSize: MAX_MODEL_REQUEST_BYTES,
      onError: () => {
        throw new AppError('too_large', 'The model request is larger than 32 MiB.')
      },
    }),
    async (c) => {
      const sandbox = await api.authenticate(c.req.param('id'), bearer(c))
      if (!config.model.apiKey) throw new AppError('model_not_configured', 'No model is configured on the server.')
      await api.checkBudget(sandbox)
      const headers: Record<string, string> = { 'x-api-key': config.model.apiKey }
      for (const name of FORWARDED_REQUEST_HEADERS) {
        const value = c.req.header(name)
        if (value) headers[name] = value
      }
      const sandboxEnded = new AbortController()
      const signal = AbortSignal.any([stopping, sandboxEnded.signal, AbortSignal.timeout(config.model.timeoutMs)])
      const watch = setInterval(() => {
        api.isLive(sandbox).then(
          (live) => live || sandboxEnded.abort(),
          () => {},
        )
      }, LIVENESS_EVERY_MS)
      const done = () => clearInterval(watch)
      const url = `${(config.model.baseUrl ?? ANTHROPIC_API).replace(/\/+$/, '')}/v1/messages`
      const upstream = await postUpstream(url, headers, Buffer.from(await c.req.arrayBuffer()), signal).catch(() => {
        done()
        throw new AppError('unavailable', 'The model API could not be reached from the server; retry shortly.')
      })
      const out = new Headers()
      for (const name of FORWARDED_RESPONSE_HEADERS) {
        const value = upstream.headers[name]
        if (typeof value === 'string') out.set(name, value)
      }
      const status = upstream.statusCode ?? 502
      const type = String(upstream.headers['content-type'] ?? '')
      const charge = async (usage: Parameters<SandboxApi['recordUsage']>[1]) => {
        done()
        if (sandboxEnded.signal.aborted) return log.info('model call dropped: its sandbox ended', { sandbox: sandbox.id })
        await api.recordUsage(sandbox, usage)
      }
      if (status < 200 || status >= 300) {
        done()
        return new Response(Readable.toWeb(upstream) as ReadableStream, { status, headers: out })
      }
      if (type.includes('text/event-stream')) {
        const sse = new SseUsage()
        const decoder = new StringDecoder('utf8')
        upstream.on('data', (chunk: Buffer) => sse.push(decoder.write(chunk)))
        upstream.on('end', () => void charge(sse.total).catch((err: unknown) => log.error('could not price a streamed call', { error: String(err) })))
        upstream.on('error', done)
        return new Response(Readable.toWeb(upstream) as ReadableStream, { status, headers: out })
      }
      let text = ''
      try {
        for await (const chunk of upstream) text += String(chunk)
      } catch {
        done()
        throw new AppError('unavailable', 'The model call was cut off; retry shortly.')
      }
      await charge(usageOfJson(text))
      return new Response(text, { status, headers: out })
    },
  )
}
