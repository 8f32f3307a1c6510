import { readFile } from 'node:fs/promises'
import { inject } from 'vitest'
import postgres from 'postgres'
import { openEmbedded, openPostgres, type Database } from '../../src/db/connect.ts'
import { migrate } from '../../src/db/migrate.ts'
import { ulid } from '../../src/ids.ts'

/**
 * A fresh, migrated database for one test file: a new database on DATABASE_URL's server when it is set,
 * else an in-memory PGlite loaded from the dump made in global setup.
 * `close()` closes it and drops it.
 */
export async function freshDatabase(): Promise<Database> {
  const base = process.env.DATABASE_URL
  if (!base) {
    const dump = await readFile(inject('pgliteDump'))
    return openEmbedded('memory://', { loadDataDir: new Blob([dump]) })
  }
  const name = `omoi_t_${ulid().toLowerCase()}`
  const admin = postgres(base, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  const url = new URL(base)
  url.pathname = `/${name}`
  const db = await openPostgres(url.toString())
  await migrate(db)
  return {
    ...db,
    async close() {
      await db.close()
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}
