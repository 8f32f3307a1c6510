import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { getConnInfo } from '@hono/node-server/conninfo'
import * as v from 'valibot'
import { AppError } from '../errors.ts'
import type { AuthService, Identity } from '../auth/service.ts'
import { originAllowed } from '../auth/tokens.ts'
import { parseInput } from '../schemas/parse.ts'
import { IdempotencyKeySchema } from '../schemas/api.ts'

export type Env = { Variables: { identity: Identity | null } }

export const MAX_BODY_BYTES = 1024 * 1024

/** Bodies over 1 MiB are refused with 413 before they are read whole. */
export function limitBody(options: { maxBytes?: number } = {}): MiddlewareHandler {
  return bodyLimit({
    maxSize: options.maxBytes ?? MAX_BODY_BYTES,
    onError: (c) => {
      // the rest of the body is never read, so the connection cannot be reused
      c.header('Connection', 'close')
      throw new AppError('too_large', 'The request body is larger than 1 MiB.')
    },
  })
}

/** Sets `identity` from the Bearer token or the session cookie; renews the cookie when the session was extended. */
export function identify(auth: AuthService): MiddlewareHandler<Env> {
  return async function identify(c, next) {
    const identity = await auth.identify({ cookie: c.req.header('cookie'), authorization: c.req.header('authorization') })
    c.set('identity', identity)
    if (identity?.refreshCookie) c.header('Set-Cookie', identity.refreshCookie, { append: true })
    await next()
  }
}

/**
 * Writes authenticated by cookie must come from our own origin (CSRF). Bearer-authenticated calls carry no ambient
 * credentials and are exempt.
 */
export function checkOrigin(options: { allowed: () => string[] }): MiddlewareHandler<Env> {
  return async function checkOrigin(c, next) {
    const identity = c.get('identity')
    if (identity?.via === 'cookie' && !['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) {
      const origin = c.req.header('origin')
      const host = c.req.header('host')
      const allowed = [...(host ? [host] : []), ...options.allowed()]
      if (!origin || !originAllowed(origin, allowed)) {
        throw new AppError('forbidden', 'This request must come from the omoi web app (its Origin header is missing or foreign).')
      }
    }
    await next()
  }
}

export function requireUser(c: Context<Env>): Identity {
  const identity = c.get('identity')
  if (!identity) throw new AppError('unauthenticated', 'Log in first, or send Authorization: Bearer <token>.')
  return identity
}

// application/json and its structured-syntax kin (application/merge-patch+json, …), with parameters (charset=utf-8)
const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i

/**
 * CONTRACT §3 "JSON bodies need application/json": a body of another type (text/plain, a form) is 400 `invalid_body`
 * naming `content-type` (CONTRACT §2's code for a request to fix; login and signup answered so before). Called with
 * the request's body, so bodyless requests pass. JSON between systems is UTF-8 (RFC 8259 §8.1) and is read as such:
 * a charset other than UTF-8 is refused the same way rather than read wrongly.
 */
export function requireJsonType(c: Context): void {
  const type = c.req.header('content-type') ?? ''
  if (!JSON_TYPE.test(type)) {
    const got = type ? `it was ${type.split(';')[0]!.trim().slice(0, 100)}` : 'it was missing'
    throw new AppError('invalid_body', `Send the body as JSON with the header Content-Type: application/json (${got}).`, {
      'content-type': ['must be application/json'],
    })
  }
  const charset = CHARSET.exec(type)?.[1]
  if (charset !== undefined && !/^"?utf-?8"?$/i.test(charset)) {
    throw new AppError('invalid_body', `Send the body as UTF-8 JSON (the charset was ${charset.slice(0, 40)}).`, {
      'content-type': ['must be application/json with no charset or charset=utf-8'],
    })
  }
}

/** The charset parameter of a media type, as written (quotes included). */
const CHARSET = /;\s*charset\s*=\s*("[^"]*"|[^;\s]*)/i

/**
 * Reads a JSON body and validates it. An empty body counts as `{}` (bodyless commands); a non-empty one must be sent as
 * application/json (else 400, requireJsonType). Malformed JSON and schema failures are 400 `invalid_body`.
 */
export async function readBody<const S extends v.GenericSchema>(c: Context, schema: S): Promise<v.InferOutput<S>> {
  const text = await c.req.text()
  if (text.trim() !== '') requireJsonType(c)
  let json: unknown
  try {
    json = text.trim() === '' ? {} : JSON.parse(text)
  } catch {
    throw new AppError('invalid_body', 'The request body is not valid JSON.', { body: ['is not valid JSON'] })
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new AppError('invalid_body', 'The request body must be a JSON object.', { body: ['must be a JSON object'] })
  }
  return parseInput(schema, json)
}

/** Validates the path's parameters (`:email`); schema failures are 400 `invalid_body` naming the parameter. */
export function readParams<const S extends v.GenericSchema>(c: Context, schema: S): v.InferOutput<S> {
  return parseInput(schema, c.req.param(), 'path')
}

const IDEMPOTENCY_KEY = 'Idempotency-Key'
const QUOTED = /^"[^"\\]*"$/
/**
 * One value: the draft's structured-field string (`"8e03978e-…"`, the quotes taken off) or a bare key without quotes,
 * commas or backslashes. Several header lines arrive joined with ", " and are refused, as is a half-quoted value.
 */
const IdempotencyHeaderSchema = v.object({
  [IDEMPOTENCY_KEY]: v.pipe(
    v.string(),
    v.check((raw) => QUOTED.test(raw) || !/[",\\]/.test(raw), 'send one Idempotency-Key header with one value: a quoted string, or a key without quotes, commas or backslashes'),
    v.transform((raw) => (QUOTED.test(raw) ? raw.slice(1, -1) : raw)),
    IdempotencyKeySchema,
  ),
})

/**
 * The request's `Idempotency-Key` header (IETF draft "The Idempotency-Key HTTP Header Field"), undefined without one.
 * Not one value of 1 to 255 printable ASCII characters: 400 `invalid_body` naming the header.
 */
export function readIdempotencyKey(c: Context): { key: string; named: string } | undefined {
  const raw = c.req.header(IDEMPOTENCY_KEY)
  if (raw === undefined) return undefined
  return { key: parseInput(IdempotencyHeaderSchema, { [IDEMPOTENCY_KEY]: raw }, 'header')[IDEMPOTENCY_KEY], named: IDEMPOTENCY_KEY }
}

/**
 * Validates the query string. A parameter the schema reads given more than once (`?after_seq=1&after_seq=2`) is 400
 * `invalid_body` naming it: no route takes a list, and picking one of the values would answer a question not asked.
 */
export function readQuery<const S extends v.GenericSchema>(c: Context, schema: S): v.InferOutput<S> {
  const known = 'entries' in schema ? new Set(Object.keys(schema.entries as object)) : null
  const repeated = Object.entries(c.req.queries()).filter(([name, values]) => values.length > 1 && (!known || known.has(name)))
  if (repeated.length > 0) {
    const fields = Object.fromEntries(repeated.map(([name, values]) => [name, [`is given ${values.length} times: give it once`]]))
    const [name, values] = repeated[0]!
    throw new AppError('invalid_body', `The request query is invalid: ${name} is given ${values.length} times: give it once.`, fields)
  }
  return parseInput(schema, c.req.query(), 'query')
}

export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown'
  } catch {
    return 'unknown'
  }
}
