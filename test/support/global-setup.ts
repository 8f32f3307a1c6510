import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { openEmbedded } from '../../src/db/connect.ts'
import { migrate } from '../../src/db/migrate.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteDump: string
  }
}

/**
 * Once per run (the returned teardown removes the dump). Without DATABASE_URL: migrate an in-memory PGlite once and dump it, so each test file loads a migrated
 * copy instead of paying PGlite.create() plus migrations again.
 */
export default async function setup(project: TestProject): Promise<void | (() => Promise<void>)> {
  process.env.OMOI_LOG_LEVEL ??= 'warn'
  if (process.env.DATABASE_URL) return
  const db = await openEmbedded('memory://')
  await migrate(db)
  const blob = await db.dump!()
  await db.close()
  const dir = await mkdtemp(join(tmpdir(), 'omoi-test-'))
  const path = join(dir, 'migrated.tar')
  await writeFile(path, Buffer.from(await blob.arrayBuffer()))
  project.provide('pgliteDump', path)
  return () => rm(dir, { recursive: true, force: true })
}
