import { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { AppError } from '../../errors.ts'
import type { SandboxApi } from '../../actors/sandbox-api.ts'
import type { SandboxEnds } from '../../actors/sandbox-ends.ts'
import type { SandboxRow } from '../../db/sandboxes.ts'
import type { Config } from '../../config.ts'
import { logger } from '../../log.ts'
import { postUpstream, SseUsage, usageOfJson } from './model-upstream.ts'
import { ModelAnswer, ModelErrorAnswer } from '../../schemas/responses.ts'
import { doc } from '../openapi.ts'

const log = logger('omoi:model-proxy')
const ANTHROPIC_API = 'https://api.anthropic.com'
/** A long conversation with file contents outgrows the 1 MiB limit of the rest of the API. */
const MAX_MODEL_REQUEST_BYTES = 32 * 1024 * 1024
/** How often a call in flight asks the database whether its sandbox still runs (ended by another node). */
const LIVENESS_EVERY_MS = 1_000
const FORWARDED_REQUEST_HEADERS = ['content-type', 'anthropic-version', 'anthropic-beta', 'accept']
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'request-id', 'retry-after', 'retry-after-ms', 'x-should-retry']

const sandboxEnded = () => new AppError('unauthenticated', 'This sandbox has ended; its model call was dropped.')

const bearer = (c: Context) => /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? c.req.header('x-api-key') ?? null

/**
 * Whether a call's sandbox still runs: `signal` aborts at once when this node ends the sandbox (SandboxEnds), and
 * within LIVENESS_EVERY_MS (a database poll) when another node does. `live()` asks the database once more, for an
 * answer about to be handed over. Call `release` when the call is over.
 */
function watchSandbox(api: SandboxApi, ends: SandboxEnds, sandbox: SandboxRow) {
  const here = ends.watch(sandbox.id)
  const elsewhere = new AbortController()
  const poll = async () => {
    const live = await api.isLive(sandbox).catch(() => true) // a database outage is not an end
    if (!live) elsewhere.abort()
    return live
  }
  const timer = setInterval(() => void poll(), LIVENESS_EVERY_MS)
  const signal = AbortSignal.any([here.signal, elsewhere.signal])
  return {
    signal,
    live: async () => !signal.aborted && (await poll()) && !signal.aborted,
    release: () => {
      clearInterval(timer)
      here.release()
    },
  }
}

/**
 * The model API as a sandbox sees it: `POST /sandboxes/:id/model/v1/messages`, authenticated by the sandbox's own token
 * and forwarded with the server's ANTHROPIC_API_KEY. The key never enters a sandbox, where the agent's commands could
 * read it; a sandbox's token only works while that sandbox lives. A spent budget is a 402 before anything is sent.
 * Usage is priced here from the model's own answer, streamed or not. The upstream call ends at OMOI_MODEL_TIMEOUT_MS,
 * when the server stops, or when its sandbox ends (cancel, pause, phase end): at once on the node that ends it, within
 * a second elsewhere. A call cut off before its answer costs nothing; an answer (or the part of a stream) the model
 * gave is charged — it was billed — but an answer that arrives after its sandbox ended is not handed over (401).
 */
export function modelProxyRoutes(api: SandboxApi, config: Config, lifetime: { stopping: AbortSignal; ends: SandboxEnds }) {
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
      const request = Buffer.from(await c.req.arrayBuffer())
      // ended here a moment ago, before the end was stored
      if (lifetime.ends.hasEnded(sandbox.id)) throw sandboxEnded()
      const life = watchSandbox(api, lifetime.ends, sandbox)
      // not AbortSignal.timeout(): inside AbortSignal.any() it can be collected before it fires (nodejs/node#57736)
      const timedOut = new AbortController()
      const timer = setTimeout(() => timedOut.abort(), config.model.timeoutMs)
      const signal = AbortSignal.any([lifetime.stopping, life.signal, timedOut.signal])
      const finish = () => {
        clearTimeout(timer)
        life.release()
      }
      const cutOff = (what: string) => (life.signal.aborted ? sandboxEnded() : new AppError('unavailable', what))
      const url = `${(config.model.baseUrl ?? ANTHROPIC_API).replace(/\/+$/, '')}/v1/messages`
      const upstream = await postUpstream(url, headers, request, signal).catch(() => {
        finish()
        throw cutOff('The model API could not be reached from the server; retry shortly.')
      })
      const out = new Headers()
      for (const name of FORWARDED_RESPONSE_HEADERS) {
        const value = upstream.headers[name]
        if (typeof value === 'string') out.set(name, value)
      }
      const status = upstream.statusCode ?? 502
      const type = String(upstream.headers['content-type'] ?? '')
      if (status < 200 || status >= 300) {
        finish()
        return new Response(Readable.toWeb(upstream) as ReadableStream, { status, headers: out })
      }
      if (type.includes('text/event-stream')) {
        // streamed to the worker as it comes: a stream cut off by the end is charged for what the model reported so far
        const sse = new SseUsage()
        const decoder = new StringDecoder('utf8')
        upstream.on('data', (chunk: Buffer) => sse.push(decoder.write(chunk)))
        upstream.once('close', () => {
          finish()
          api.recordUsage(sandbox, sse.total).catch((err: unknown) => log.error('could not price a streamed call', { error: String(err) }))
        })
        return new Response(Readable.toWeb(upstream) as ReadableStream, { status, headers: out })
      }
      const chunks: Buffer[] = []
      try {
        for await (const chunk of upstream) chunks.push(chunk as Buffer)
      } catch {
        finish()
        throw cutOff('The model call was cut off; retry shortly.')
      }
      const text = Buffer.concat(chunks).toString('utf8')
      const live = await life.live()
      finish()
      await api.recordUsage(sandbox, usageOfJson(text))
      if (!live) {
        log.info('model answer withheld: its sandbox ended', { sandbox: sandbox.id })
        throw sandboxEnded()
      }
      return new Response(text, { status, headers: out })
    },
  )
}
