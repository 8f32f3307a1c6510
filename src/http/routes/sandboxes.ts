import { Hono, type Context } from 'hono'
import * as v from 'valibot'
import type { SandboxApi } from '../../actors/sandbox-api.ts'
import { IngestEventsSchema, ResultSchema } from '../../schemas/events.ts'
import { readBody, readQuery } from '../middleware.ts'
import { doc } from '../openapi.ts'
import { AssignmentAnswer, IngestAnswer, MessagesAnswer, VerdictAnswer } from '../../schemas/responses.ts'

const bearer = (c: Context) => /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? null
const MessagesQuery = v.object({
  after: v.optional(
    v.pipe(
      v.string('after must be a string'),
      v.regex(/^\d+$/, 'after must be a whole number'),
      v.transform(Number),
      v.maxValue(Number.MAX_SAFE_INTEGER, `after must be at most ${Number.MAX_SAFE_INTEGER}`),
    ),
  ),
})

/** CONTRACT §7: what a sandbox worker calls, authenticated by its own sandbox token. */
export function sandboxRoutes(api: SandboxApi) {
  return new Hono()
    .get('/:id/assignment', doc({ summary: "The sandbox's assignment", tag: 'sandboxes', auth: 'sandbox', answer: AssignmentAnswer }), async (c) => c.json(await api.assignment(await api.authenticate(c.req.param('id'), bearer(c)))))
    .post('/:id/events', doc({ summary: 'Agent events (≤ 100, idempotent by id)', tag: 'sandboxes', auth: 'sandbox', body: IngestEventsSchema, answer: IngestAnswer }), async (c) => {
      const row = await api.authenticateEvents(c.req.param('id'), bearer(c))
      return c.json(await api.ingest(row, await readBody(c, IngestEventsSchema)))
    })
    .post('/:id/result', doc({ summary: 'A submission, judged by the evaluator', tag: 'sandboxes', auth: 'sandbox', body: ResultSchema, answer: VerdictAnswer }), async (c) => {
      const row = await api.authenticate(c.req.param('id'), bearer(c))
      return c.json(await api.result(row, await readBody(c, ResultSchema)))
    })
    .get('/:id/messages', doc({ summary: 'User messages for the agent', tag: 'sandboxes', auth: 'sandbox', query: MessagesQuery, answer: MessagesAnswer }), async (c) => {
      const row = await api.authenticate(c.req.param('id'), bearer(c))
      return c.json(await api.messages(row, readQuery(c, MessagesQuery).after))
    })
}
