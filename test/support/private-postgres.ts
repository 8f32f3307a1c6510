import { execFile } from 'node:child_process'
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './stack.ts'

const run = promisify(execFile)

/**
 * A PostgreSQL instance of one test alone: its own data directory (a temp dir) and port, so the test may stop and
 * start it (the shared server on 5432 is never touched). initdb refuses root, so the binaries run as `postgres`.
 */
export interface PrivatePostgres {
  url: string
  /** `pg_ctl stop -m fast`: sessions are cut with 57P01 (admin shutdown), new connections are refused. */
  stop(): Promise<void>
  start(): Promise<void>
  /** Stops the instance and deletes its directory. */
  destroy(): Promise<void>
}

async function binDir(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a))
  if (!versions[0]) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql')
  return `/usr/lib/postgresql/${versions[0]}/bin`
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = await binDir()
  const dir = await mkdtemp(join(tmpdir(), 'omoi-pg-'))
  await chown(dir, Number((await run('id', ['-u', 'postgres'])).stdout), Number((await run('id', ['-g', 'postgres'])).stdout))
  const data = join(dir, 'data')
  const port = await freePort()
  const asPostgres = (cmd: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args])
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions'])
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`
  let up = false
  const pg: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      await asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '30', 'start'])
      up = true
    },
    async stop() {
      await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop'])
      up = false
    },
    async destroy() {
      if (up) await pg.stop().catch(() => {})
      await rm(dir, { recursive: true, force: true })
    },
  }
  await pg.start()
  return pg
}
