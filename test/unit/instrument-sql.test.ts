import { Histogram } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { Sql } from '../../src/db/connect.ts'
import { instrumentSql } from '../../src/metrics/instrument-sql.ts'

/** postgres.js queries are a Promise subclass, so `await` looks their `then` up (it skips that for a plain Promise). */
class Query<T> extends Promise<T> {}

/** A stand-in for postgres.js: tagged queries, `unsafe` and `begin`, each a promise of rows. */
const fakeSql = Object.assign((_strings: TemplateStringsArray, ..._values: unknown[]) => Query.resolve([{ tagged: true }]), {
  unsafe: (_query: string, _args?: unknown[], _options?: object) => Query.resolve([{ unsafe: true }]),
  begin: (run: () => Promise<unknown>) => run(),
})

async function counts(histogram: Histogram<'kind'>): Promise<Record<string, number>> {
  const { values } = await histogram.get()
  return Object.fromEntries(values.filter((v) => v.metricName?.endsWith('_count')).map((v) => [String(v.labels.kind), v.value]))
}

describe('instrumentSql', () => {
  it('times tagged queries, unsafe ones and transactions, and answers what the client answers', async () => {
    const histogram = new Histogram({ name: 'test_db_seconds', help: 'test', labelNames: ['kind'] as const, registers: [] })
    const sql = instrumentSql(fakeSql as unknown as Sql, histogram)
    expect(await sql`select 1`).toEqual([{ tagged: true }])
    expect(await sql.unsafe('select $1', [1], { prepare: false })).toEqual([{ unsafe: true }])
    await sql.begin(async () => {})
    expect(await counts(histogram)).toEqual({ query: 2, transaction: 1 })
  })
})
