import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ReservedSql } from 'postgres'
import { createSessionStore } from '../../src/auth/sessions.ts'
import type { Database, Sql } from '../../src/db/connect.ts'
import { insertProject } from '../../src/db/projects.ts'
import { insertSpec } from '../../src/db/specs.ts'
import { hashToken, newId, newSecret } from '../../src/ids.ts'
import { JoinReads } from '../../src/sockets/join-reads.ts'
import { freshDatabase } from '../support/db.ts'

/**
 * The reads by key on every request and join (a session's lookup, a crowd's read of a spec and everyone's access) run
 * on `Database.keySql` (src/db/connect.ts): they probe the index of a table of a thousand rows instead of scanning
 * it, and the join read keeps its plan instead of being planned at every join. PostgreSQL only: embedded PGlite is
 * one connection, planned afresh.
 */

const PEOPLE = 1_000
let database: Database
/** One connection of the key-read pool, so that its prepared statements can be looked at. */
let key: ReservedSql<any>
const enabled = Boolean(process.env.DATABASE_URL)

beforeAll(async () => {
  if (!enabled) return
  database = await freshDatabase()
  key = await database.keySql.reserve()
})
afterAll(async () => {
  key?.release()
  await database?.close()
})

/** The plan and counters PostgreSQL keeps for the statement of this connection whose text contains `marker`. */
async function preparedStatement(marker: string) {
  const [row] = await key<{ name: string; generic_plans: number; custom_plans: number }[]>`
    select name, generic_plans, custom_plans from pg_prepared_statements where statement like ${`%${marker}%`}`
  expect(row, `no prepared statement contains ${marker}`).toBeDefined()
  return row!
}

/** The nodes of the plan `explain execute` gives for `name` with these parameters (its generic plan when it keeps one). */
async function planNodes(name: string, params: string): Promise<string[]> {
  const [row] = await key.unsafe(`explain (format json) execute "${name}"${params}`)
  const nodes: string[] = []
  const walk = (node: { 'Node Type': string; 'Relation Name'?: string; Plans?: unknown[] }) => {
    nodes.push(node['Relation Name'] ? `${node['Node Type']} on ${node['Relation Name']}` : node['Node Type'])
    for (const child of node.Plans ?? []) walk(child as typeof node)
  }
  walk((row!['QUERY PLAN'] as { Plan: Parameters<typeof walk>[0] }[])[0]!.Plan)
  return nodes
}

describe.skipIf(!enabled)('reads by key', () => {
  let owner: string
  let projectId: string
  let specId: string
  let tokens: string[]
  let people: string[]

  beforeAll(async () => {
    const { sql } = database
    people = Array.from({ length: PEOPLE }, () => newId('usr'))
    tokens = people.map(() => newSecret(20))
    owner = people[0]!
    await sql`insert into users ${sql(
      people.map((id, i) => ({ id, email: `key-${i}-${id.toLowerCase()}@example.com`, name: `Key ${i}`, password_hash: 'x' })),
      'id',
      'email',
      'name',
      'password_hash',
    )}`
    await sql`insert into sessions (id, user_id, expires_at)
      select * from unnest(${tokens.map(hashToken)}::text[], ${people}::text[], array_fill(now() + interval '30 days', array[${PEOPLE}]::int[]))`
    projectId = (await insertProject(sql, { id: newId('prj'), owner_id: owner, name: 'Keys', repo_url: null, default_branch: 'main', check_command: null })).id
    await sql`insert into project_members ${sql(people.slice(1).map((user_id) => ({ project_id: projectId, user_id, role: 'viewer' })), 'project_id', 'user_id', 'role')}`
    specId = (await insertSpec(sql, { id: newId('spec'), project_id: projectId, user_id: owner, title: 'Keys', description: 'd', approval: 'auto', budget_usd: null, kind: 'spec' })).id
    await sql`analyze`
  })

  it('looks sessions up by probing the index of a table of a thousand, not by scanning it', async () => {
    const store = createSessionStore(database.sql, { secureCookies: false, keySql: key as unknown as Sql })
    for (let i = 0; i < 12; i++) {
      const found = await Promise.all(tokens.slice(i * 6, i * 6 + 6).map((t) => store.validate(t)))
      expect(found.map((f) => f?.user.id)).toEqual(people.slice(i * 6, i * 6 + 6))
    }
    const lookup = await preparedStatement('from sessions s join users u')
    const nodes = await planNodes(lookup.name, `('{${tokens.slice(0, 6).map(hashToken).join(',')}}')`)
    expect(nodes.filter((n) => n.startsWith('Seq Scan'))).toEqual([])
  })

  it("reads a crowd's access to a spec with a plan kept for the connection, probing the members' index", async () => {
    const reads = new JoinReads(database.sql, key as unknown as Sql)
    for (let i = 0; i < 12; i++) {
      // each round one read: the joins of one turn share it
      const crowd = people.slice(1 + i * 6, 7 + i * 6)
      const answers = await Promise.all(crowd.map((user) => reads.join(specId, user, 0)))
      expect(answers.map((a) => a.spec?.access)).toEqual(crowd.map(() => 'viewer'))
    }
    const read = await preparedStatement('as join_access')
    expect(read.generic_plans).toBeGreaterThan(0)
    const nodes = await planNodes(read.name, `('{${people.slice(1, 7).join(',')}}', '${specId}')`)
    expect(nodes.filter((n) => n.startsWith('Seq Scan on project_members'))).toEqual([])
  })
})
