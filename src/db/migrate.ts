import { fileURLToPath } from 'node:url'
import shift from 'postgres-shift'
import { connectUrl, type Database, type Sql } from './connect.ts'
import { logger } from '../log.ts'

const log = logger('omoi:db')

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../sql', import.meta.url))

/** Arbitrary key for the advisory lock that keeps two nodes from migrating at once. */
const MIGRATION_LOCK = 7_105_223

/**
 * Runs the forward-only migrations in sql/ (postgres-shift: one transaction, recorded in table `migrations`).
 * On a shared PostgreSQL, a session advisory lock held on a separate connection keeps nodes from migrating at once;
 * embedded PGlite has one connection and one process, so it needs none.
 */
export async function migrate(db: Database): Promise<void> {
  const run = () =>
    shift({
      sql: db.sql as never,
      path: MIGRATIONS_DIR,
      before: ({ migration_id, name }) => log.info('applying migration', { migration_id, name }),
    })
  if (db.embedded) return run()
  const lock = connectUrl(db.url, { max: 1 })
  try {
    await lock`select pg_advisory_lock(${MIGRATION_LOCK})`
    await run()
  } finally {
    await lock.end({ timeout: 5 })
  }
}

/** The number of the newest migration file, and the one the database has: /readyz compares them. */
export async function migrationState(sql: Sql): Promise<{ applied: number; expected: number }> {
  const { readdir } = await import('node:fs/promises')
  const expected = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{5}_/.test(f)).length
  const [row] = await sql<{ id: number | null }[]>`select max(migration_id)::int as id from migrations`.catch(() => [{ id: 0 }])
  return { applied: row?.id ?? 0, expected }
}
