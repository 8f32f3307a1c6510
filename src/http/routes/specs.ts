import { Hono } from 'hono'
import { AppError, notFound } from '../../errors.ts'
import type { Sql } from '../../db/connect.ts'
import { loadArtifacts } from '../../db/artifacts.ts'
import { listEvents } from '../../db/events.ts'
import { findSpecFor, setSpecBudget } from '../../db/specs.ts'
import { CreateSpecSchema, EventsQuerySchema, UpdateSpecSchema } from '../../schemas/api.ts'
import { createDraftSpec } from '../../actors/create-spec.ts'
import { presentSpec } from '../../schemas/present.ts'
import { readBody, readQuery, requireUser, type Env } from '../middleware.ts'
import { doc } from '../openapi.ts'
import { ArtifactsAnswer, EventListAnswer, SpecAnswer } from '../../schemas/responses.ts'

/** CONTRACT §4: creating a draft spec; reading a spec, its artifacts and its event log; changing its budget. */
export function specReadRoutes(sql: Sql) {
  const load = async (specId: string, userId: string) => {
    const spec = await findSpecFor(sql, specId, userId)
    if (!spec) throw notFound('Spec')
    return spec
  }
  return new Hono<Env>()
    .post('/', doc({ summary: 'Create a draft spec', tag: 'specs', body: CreateSpecSchema, status: 201, answer: SpecAnswer }), async (c) => {
      const { user } = requireUser(c)
      const spec = await createDraftSpec(sql, user.id, await readBody(c, CreateSpecSchema))
      return c.json(presentSpec(spec, 'owner'), 201)
    })
    .get('/:id', doc({ summary: 'A spec', tag: 'specs', answer: SpecAnswer }), async (c) => {
      const spec = await load(c.req.param('id'), requireUser(c).user.id)
      return c.json(presentSpec(spec, spec.access))
    })
    .patch('/:id', doc({ summary: "Change a spec's budget (owner or editor)", tag: 'specs', body: UpdateSpecSchema, answer: SpecAnswer }), async (c) => {
      const spec = await load(c.req.param('id'), requireUser(c).user.id)
      if (spec.access === 'viewer') throw new AppError('forbidden', "Only the spec's owner and the project's editors can change its budget.")
      const body = await readBody(c, UpdateSpecSchema)
      return c.json(presentSpec(await setSpecBudget(sql, spec.id, body.budget_usd), spec.access))
    })
    .get('/:id/artifacts', doc({ summary: "A spec's accepted phase outputs", tag: 'specs', answer: ArtifactsAnswer }), async (c) => {
      const spec = await load(c.req.param('id'), requireUser(c).user.id)
      return c.json(await loadArtifacts(sql, spec.id))
    })
    .get('/:id/events', doc({ summary: "A spec's events", tag: 'specs', query: EventsQuerySchema, answer: EventListAnswer }), async (c) => {
      const spec = await load(c.req.param('id'), requireUser(c).user.id)
      const q = readQuery(c, EventsQuerySchema)
      const { events, total } = await listEvents(sql, spec.id, q)
      return c.json({ spec_id: spec.id, events, total })
    })
}
