import { Hono } from 'hono'
import type { Sql } from '../../db/connect.ts'
import { migrationState } from '../../db/migrate.ts'
import { HealthAnswer, ReadyAnswer } from '../../schemas/responses.ts'
import { doc } from '../openapi.ts'

/**
 * `/healthz`: the process is up. `/readyz`: the database answers, every migration is applied, and the actors this node
 * owns are restored.
 */
export function healthRoutes(sql: Sql, actorsReady: () => boolean) {
  return new Hono()
    .get('/healthz', doc({ summary: 'The process is up', tag: 'health', auth: 'none', answer: HealthAnswer }), (c) => c.json({ ok: true }))
    .get('/readyz', doc({ summary: 'Ready: database, migrations and actors (503 until then)', tag: 'health', auth: 'none', answer: ReadyAnswer }), async (c) => {
      try {
        const { applied, expected } = await migrationState(sql)
        if (applied < expected) return c.json({ ok: false, reason: `migrations applied ${applied} of ${expected}` }, 503)
        if (!actorsReady()) return c.json({ ok: false, reason: 'restoring spec actors' }, 503)
        return c.json({ ok: true, migrations: applied })
      } catch {
        return c.json({ ok: false, reason: 'the database does not answer' }, 503)
      }
    })
}
