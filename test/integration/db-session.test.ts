import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { freshDatabase } from '../support/db.ts'

/** What every server connection is told at its start (src/db/connect.ts). */

let database: Database

beforeAll(async () => {
  database = await freshDatabase()
})
afterAll(async () => {
  await database?.close()
})

const setting = async (name: string) => (await database.sql.unsafe(`select current_setting('${name}') as value`))[0]!.value as string

describe('a server connection', () => {
  it('plans every statement for the tables as they are (no plan cached while they were small)', async () => {
    expect(await setting('plan_cache_mode')).toBe('force_custom_plan')
  })

  it.skipIf(!process.env.DATABASE_URL)('ends a transaction its process left idle', async () => {
    expect(await setting('idle_in_transaction_session_timeout')).toBe('10s')
  })
})
