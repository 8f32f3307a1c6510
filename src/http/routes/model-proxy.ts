import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { AppError } from '../../errors.ts'
import type { SandboxApi } from '../../actors/sandbox-api.ts'
import type { Config } from '../../config.ts'
import { ModelAnswer, ModelErrorAnswer } from '../../schemas/responses.ts'
import { doc } from '../openapi.ts'

const ANTHROPIC_API = 'https://api.anthropic.com'
/** A long conversation with file contents outgrows the 1 MiB limit of the rest of the API. */
const MAX_MODEL_REQUEST_BYTES = 32 * 1024 * 1024
/** A model answer slower than this is given up (the worker retries the call). */
const MODEL_TIMEOUT_MS = 10 * 60_000
const FORWARDED_REQUEST_HEADERS = ['content-type', 'anthropic-version', 'anthropic-beta', 'accept']
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'request-id', 'retry-after', 'retry-after-ms', 'x-should-retry']

const bearer = (c: Context) => /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? c.req.header('x-api-key') ?? null

function usageOf(body: string): { input_tokens: number; output_tokens: number } {
  try {
    const usage = (JSON.parse(body) as { usage?: { input_tokens?: number; output_tokens?: number } }).usage
    return { input_tokens: Number(usage?.input_tokens) || 0, output_tokens: Number(usage?.output_tokens) || 0 }
  } catch {
    return { input_tokens: 0, output_tokens: 0 }
  }
}

/**
 * The model API as a sandbox sees it: `POST /sandboxes/:id/model/v1/messages`, authenticated by the sandbox's own token
 * and forwarded with the server's ANTHROPIC_API_KEY. The key never enters a sandbox, where the agent's commands could
 * read it; a sandbox's token only works while that sandbox lives. Usage is priced here, from the model's own answer.
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
      const headers = new Headers({ 'x-api-key': config.model.apiKey })
      for (const name of FORWARDED_REQUEST_HEADERS) {
        const value = c.req.header(name)
        if (value) headers.set(name, value)
      }
      const upstream = await fetch(`${(config.model.baseUrl ?? ANTHROPIC_API).replace(/\/+$/, '')}/v1/messages`, {
        method: 'POST',
        headers,
        body: await c.req.arrayBuffer(),
        signal: AbortSignal.any([stopping, AbortSignal.timeout(MODEL_TIMEOUT_MS)]),
      }).catch(() => {
        throw new AppError('unavailable', 'The model API could not be reached from the server; retry shortly.')
      })
      const out = new Headers()
      for (const name of FORWARDED_RESPONSE_HEADERS) {
        const value = upstream.headers.get(name)
        if (value) out.set(name, value)
      }
      if (!upstream.ok || !upstream.headers.get('content-type')?.includes('application/json')) {
        return new Response(upstream.body, { status: upstream.status, headers: out })
      }
      const text = await upstream.text()
      await api.recordUsage(sandbox, usageOf(text))
      return new Response(text, { status: upstream.status, headers: out })
    },
  )
}
