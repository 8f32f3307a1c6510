import { Hono, type Context } from 'hono'
import * as v from 'valibot'
import type { SandboxApi } from '../../actors/sandbox-api.ts'
import { IngestEventsSchema, ResultSchema } from '../../schemas/events.ts'
import { readBody, readQuery } from '../middleware.ts'

const bearer = (c: Context) => /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? null
const MessagesQuery = v.object({
  after: v.optional(v.pipe(v.string(), v.regex(/^\d+$/, 'after must be a whole number'), v.transform(Number))),
})

/** CONTRACT §7: what a sandbox worker calls, authenticated by its own sandbox token. */
export function sandboxRoutes(api: SandboxApi) {
  return new Hono()
    .get('/:id/assignment', async (c) => c.json(await api.assignment(await api.authenticate(c.req.param('id'), bearer(c)))))
    .post('/:id/events', async (c) => {
      const row = await api.authenticateEvents(c.req.param('id'), bearer(c))
      return c.json(await api.ingest(row, await readBody(c, IngestEventsSchema)))
    })
    .post('/:id/result', async (c) => {
      const row = await api.authenticate(c.req.param('id'), bearer(c))
      return c.json(await api.result(row, await readBody(c, ResultSchema)))
    })
    .get('/:id/messages', async (c) => {
      const row = await api.authenticate(c.req.param('id'), bearer(c))
      return c.json(await api.messages(row, readQuery(c, MessagesQuery).after))
    })
}
