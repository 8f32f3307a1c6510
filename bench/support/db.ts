import postgres from 'postgres'
import { openPostgres, type Database } from '../../src/db/connect.ts'
import { migrate } from '../../src/db/migrate.ts'
import { ulid } from '../../src/ids.ts'

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

export const databaseUrl = () => process.env.DATABASE_URL || DEFAULT_DATABASE_URL

/**
 * A fresh, migrated database on DATABASE_URL's server (as test/support/db.ts does), dropped again by `close()`.
 * Benchmarks always use real PostgreSQL: embedded PGlite has one connection and would measure itself.
 */
export async function freshDatabase(label: string): Promise<Database> {
  const base = databaseUrl()
  const name = `omoi_bench_${label}_${ulid().toLowerCase()}`
  const admin = postgres(base, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(base)
  url.pathname = `/${name}`
  let db: Database
  try {
    db = await openPostgres(url.toString())
    await migrate(db)
  } catch (err) {
    await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {})
    await admin.end()
    throw err
  }
  let closed: Promise<void> | undefined
  return {
    ...db,
    close: () =>
      (closed ??= (async () => {
        await db.close().catch(() => {})
        await admin.unsafe(`drop database if exists ${name} with (force)`)
        await admin.end()
      })()),
  }
}
