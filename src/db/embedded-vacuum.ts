import { logger } from '../log.ts'
import type { Sql } from './connect.ts'

const log = logger('omoi:db')

/** How often the embedded database's tables are checked for dead rows and stale statistics. */
export const EMBEDDED_VACUUM_EVERY_MS = 60_000

/**
 * The tables of the public schema that autovacuum would take now, by its default thresholds (PostgreSQL documentation,
 * "Routine Vacuuming" and "The Autovacuum Daemon"): vacuum (and analyze) past 50 + 20 % of the rows dead, past
 * 1,000 + 20 % of them inserted since the last vacuum (so an append-only log gets its visibility map and frozen rows),
 * or when its oldest transaction id is older than `autovacuum_freeze_max_age`; analyze alone past 50 + 10 % of the rows
 * changed since the last analyze. Dead rows of a table's TOAST table (where a snapshot of tens of kB lives) count for
 * the table: vacuuming the table vacuums it. `name` is the table as SQL names it (quoted where needed). Statistics
 * reach these views a moment after a transaction ends.
 */
async function tablesDue(sql: Sql): Promise<{ name: string; vacuum: boolean }[]> {
  return sql<{ name: string; vacuum: boolean }[]>`
    select name, vacuum from (
      select c.oid::regclass::text as name,
        (s.n_dead_tup > 50 + 0.2 * s.n_live_tup
          or coalesce(t.n_dead_tup > 50 + 0.2 * t.n_live_tup, false)
          or s.n_ins_since_vacuum > 1000 + 0.2 * s.n_live_tup
          or age(c.relfrozenxid) > current_setting('autovacuum_freeze_max_age')::int8) as vacuum,
        s.n_mod_since_analyze > 50 + 0.1 * s.n_live_tup as stale
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_stat_all_tables s on s.relid = c.oid
      left join pg_stat_all_tables t on t.relid = c.reltoastrelid
      where n.nspname = 'public' and c.relkind = 'r') due
    where vacuum or stale
    order by name`
}

/**
 * One round: `VACUUM (ANALYZE)` on each table due for a vacuum, `ANALYZE` on each only changed, and a vacuum of the
 * whole database (the system catalogs too) once its oldest transaction id is older than `autovacuum_freeze_max_age`,
 * as autovacuum forces against transaction-id wraparound. Answers the tables taken.
 */
export async function vacuumDueTables(sql: Sql): Promise<string[]> {
  const due = await tablesDue(sql)
  for (const { name, vacuum } of due) await sql.unsafe(`${vacuum ? 'vacuum (analyze)' : 'analyze'} ${name}`)
  const [db] = await sql<{ old: boolean }[]>`
    select age(datfrozenxid) > current_setting('autovacuum_freeze_max_age')::int8 as old from pg_database where datname = current_database()`
  if (db?.old) await sql.unsafe('vacuum')
  return due.map((t) => t.name)
}

/**
 * Embedded PGlite is one process without autovacuum's launcher, so nothing ever vacuums it: every update of a row with
 * a value stored out of line (a spec's snapshot, written at each transition) left the old value behind for good, and
 * 2,000 transitions of a 40 kB snapshot grew the database by 74 MB. Every `everyMs` this does autovacuum's job
 * (`vacuumDueTables`; a round still running skips the next), so the space of dead rows is reused and the planner's
 * statistics follow the tables. A round that fails is logged and the next one tries again. `stop()` resolves once a round in progress has ended.
 */
export function startEmbeddedVacuum(sql: Sql, everyMs = EMBEDDED_VACUUM_EVERY_MS): { stop(): Promise<void> } {
  let round: Promise<void> | null = null
  const timer = setInterval(() => {
    round ??= vacuumDueTables(sql)
      .then(
        (tables) => {
          if (tables.length > 0) log.info('vacuumed the embedded database', { tables })
        },
        (err: unknown) => log.warn('could not vacuum the embedded database', { err }),
      )
      .finally(() => (round = null))
  }, everyMs)
  timer.unref()
  return {
    stop() {
      clearInterval(timer)
      return round ?? Promise.resolve()
    },
  }
}
