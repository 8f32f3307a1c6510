import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import postgres from 'postgres'
import { logger } from '../log.ts'
import { lockDataDir } from './data-dir-lock.ts'
import { cleanJson, cleanText } from './text-boundary.ts'

const log = logger('omoi:db')

// `any`: postgres.js types its helpers (sql(row, ...columns)) only with the loose parameter map
export type Sql = postgres.Sql<any>

/** An open database: the postgres.js client and how to close everything behind it. */
export interface Database {
  sql: Sql
  /**
   * Point reads by key on the request path (`connectUrl`'s `plans: 'auto'`): a session's lookup, a crowd's join read.
   * The same client as `sql` on embedded PGlite (one connection).
   */
  keySql: Sql
  /** true on embedded PGlite: one connection, no LISTEN/NOTIFY. */
  embedded: boolean
  /** A URL other processes on this machine can connect to (the embedded server's, or DATABASE_URL). */
  url: string
  close(): Promise<void>
  /** Embedded only: the whole data directory as a tarball (tests load a migrated copy per file). */
  dump?: () => Promise<Blob>
}

/**
 * int8 and numeric come back as JS numbers: our counters and money stay far below 2^53.
 * text, varchar and json/jsonb parameters pass the one text boundary (text-boundary.ts) on their way out: postgres.js
 * serializes every parameter by the type the server describes for it, so no query can forget it.
 */
const types = {
  int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
  numeric: { to: 1700, from: [1700], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
  text: { to: 25, from: [25], parse: (x: string) => x, serialize: (x: unknown) => cleanText(String(x)) },
  varchar: { to: 1043, from: [1043], parse: (x: string) => x, serialize: (x: unknown) => cleanText(String(x)) },
  json: { to: 114, from: [114, 3802], serialize: (x: unknown) => cleanJson(JSON.stringify(x)), parse: (x: string) => JSON.parse(x) },
}

/**
 * What a server connection asks for at its start, besides the planning mode: a process paused inside a transaction
 * (SIGSTOP, a long GC) must not hold a spec's lease row locked for good. The server ends a transaction left idle, and
 * the fence refuses whatever that process writes when it wakes up. Not covered by it: a process paused between the two
 * halves of a statement's first use on a connection (postgres.js describes it, then binds it). PostgreSQL then waits
 * for client input with the statement begun, where neither this timeout nor `statement_timeout` acts (PostgreSQL 17's
 * `transaction_timeout` would). The claim covers that case: once the lease has expired, the node taking the spec over
 * ends the backend of a transaction that has held the row since before then, or that has waited for its client for a
 * whole lease (a process that woke up after its lease expired, began a write and stopped again; `endStaleHolders` in
 * actors.ts).
 */
const SERVER_SESSION = { idle_in_transaction_session_timeout: 10_000 }

/**
 * How a client's statements are planned.
 * - `custom` (every client but one): each execution is planned with its parameters and the tables as they are now. A
 *   plan cached for a prepared statement is kept until the table's statistics change, and a young database's event
 *   log grows far faster than autovacuum re-analyzes it: the event append, planned at 8 rows, scanned all 20,000
 *   later (bench/README.md, issue 13). Planning costs a tenth of a millisecond or more.
 * - `auto`, for point reads by key only (`Database.keySql`): PostgreSQL's default, which keeps a statement's generic
 *   plan once planning afresh stops paying for itself; and a random page read priced at 1.1 sequential ones instead
 *   of 4, as the documentation advises for data held in memory ("Planner Cost Constants"), so that a lookup of a few
 *   keys in a table of a thousand rows probes the index instead of scanning the table and hashing it. Measured on
 *   PostgreSQL 15, idle, 6 keys among 1,000 rows, CPU of the database server per statement: the session lookup 0.30 ms
 *   custom, 0.11 ms here (still planned per execution, by PostgreSQL's choice); a crowd's read of a spec and its
 *   access 0.24 ms custom, 0.07 ms here (a generic plan).
 */
type Plans = 'custom' | 'auto'

const PLANNING: Record<Plans, Record<string, string | number>> = {
  custom: { plan_cache_mode: 'force_custom_plan' },
  auto: { plan_cache_mode: 'auto', random_page_cost: 1.1 },
}

export function connectUrl(url: string, options: { max?: number; server?: boolean; plans?: Plans } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    types,
    connection: {
      application_name: 'omoi',
      ...PLANNING[options.plans ?? 'custom'],
      ...(options.server ? SERVER_SESSION : {}),
    },
  }) as unknown as Sql
}

/** Connections for point reads by key: each read is a batch of a turn's keys (src/db/turn-batch.ts), one in flight. */
const KEY_READ_CONNECTIONS = 2

/** Real PostgreSQL at DATABASE_URL: `sql`, and `keySql` on connections of its own. */
export async function openPostgres(url: string): Promise<Database> {
  const sql = connectUrl(url, { server: true })
  await sql`select 1`
  const keySql = connectUrl(url, { server: true, max: KEY_READ_CONNECTIONS, plans: 'auto' })
  return {
    sql,
    keySql,
    embedded: false,
    url,
    close: async () => void (await Promise.all([sql.end({ timeout: 5 }), keySql.end({ timeout: 5 })])),
  }
}

/**
 * Embedded PGlite kept in `dir`, served on a loopback port by pglite-socket so the same postgres.js code talks to it.
 * PGlite is one connection: postgres.js gets `max: 1` (more corrupt queries).
 */
export async function openEmbedded(dir: string, options: { loadDataDir?: Blob } = {}): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite')
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket')
  let release = async () => {}
  let dataDir: string | undefined
  if (dir !== 'memory://') {
    await mkdir(dir, { recursive: true })
    release = await lockDataDir(dir)
    dataDir = join(dir, 'pgdata')
  }
  const db = await PGlite.create(dataDir, options.loadDataDir ? { loadDataDir: options.loadDataDir } : {})
  // pglite-socket does not apply a client's startup parameters; PGlite is one session, set here (see connectUrl)
  await db.exec(`set plan_cache_mode = force_custom_plan`)
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' })
  await server.start()
  const address = (server as unknown as { server: { address(): { port: number } } }).server.address()
  const url = `postgres://postgres@127.0.0.1:${address.port}/postgres`
  const sql = connectUrl(url, { max: 1 })
  log.info('embedded database ready', { dir: dataDir ?? 'memory', port: address.port })
  return {
    sql,
    keySql: sql,
    embedded: true,
    url,
    async close() {
      await sql.end({ timeout: 5 })
      await server.stop()
      await db.close()
      await release()
    },
    dump: () => db.dumpDataDir('none'),
  }
}

/**
 * Runs `fn` in one transaction. The transaction handle is typed as `Sql` so the query functions of src/db take either
 * (postgres.js's TransactionSql lacks only begin/end, which those functions never call).
 */
export function transaction<T>(sql: Sql, fn: (tx: Sql) => Promise<T>): Promise<T> {
  return sql.begin((tx) => fn(tx as unknown as Sql)) as Promise<T>
}
