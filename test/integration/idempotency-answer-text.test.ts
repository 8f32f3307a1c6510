import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { findKey, recordAnswer, reserveKey } from '../../src/db/idempotency.ts'
import { ulid } from '../../src/ids.ts'
import { freshDatabase } from '../support/db.ts'

/**
 * The first answer to a keyed command is the answer its retries get (README, Idempotency keys), also when it holds text
 * the text boundary changes on its way into the column (a message's echoed `text` with a lone surrogate): recordAnswer
 * resolves the answer as stored, not the one it was given. PGlite, or PostgreSQL with DATABASE_URL.
 */

let database: Database
let userId: string
const sql = () => database.sql

beforeAll(async () => {
  database = await freshDatabase()
  userId = `usr_${ulid()}`
  await sql()`insert into users (id, email, name, password_hash) values (${userId}, ${`${userId}@example.com`}, 'Ada', 'x')`
})
afterAll(() => database?.close())

describe('the first answer of a key', () => {
  it('is the stored one, the same its replay gets, when the text boundary changed it', async () => {
    expect(await reserveKey(sql(), { userId, key: 'k', fingerprint: 'fp', holder: 'h1', abandonedAfterMs: 60_000 })).toBe(true)
    const answer = { code: 201, body: { spec_id: 'spec_1', seq: 7, text: 'a lone \ud800 surrogate' } }
    const first = await recordAnswer(sql(), { userId, key: 'k', fingerprint: 'fp', answer })
    const replay = await findKey(sql(), userId, 'k')
    expect(first).toEqual({ answer: { code: 201, body: { spec_id: 'spec_1', seq: 7, text: 'a lone \ufffd surrogate' } }, replayed: false })
    expect(replay!.answer).toEqual(first.answer)
    expect(JSON.stringify(replay!.answer!.body)).toBe(JSON.stringify(first.answer.body))
  })
})
