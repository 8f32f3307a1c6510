import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../src/config.ts'
import type { Database } from '../../src/db/connect.ts'
import { insertSandbox } from '../../src/db/sandboxes.ts'
import { hashToken, newId, newSecret } from '../../src/ids.ts'
import { startServer, type RunningServer } from '../../src/server.ts'

/** Bench runs log warnings and errors only (the logger reads this on every line). */
process.env.OMOI_LOG_LEVEL ??= 'warn'

export interface BenchServer extends RunningServer {
  /** Closes the server and removes its data directory (the database is the caller's). */
  stop(): Promise<void>
}

/** The real server (`startServer`, as `npm start` composes it) on a loopback port, on the given database. */
export async function startRealServer(database: Database, env: Record<string, string> = {}): Promise<BenchServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'omoi-bench-'))
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', OMOI_DATA_DIR: dataDir, DATABASE_URL: database.url, ...env })
  const server = await startServer(config, { database })
  return {
    ...server,
    async stop() {
      await server.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** A REST client speaking CONTRACT §3–4 with a Bearer token. */
export class Client {
  token = ''
  userId = ''
  constructor(readonly baseUrl: string) {}

  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`)
    return (text ? JSON.parse(text) : null) as T
  }

  async signup(name = 'Bench'): Promise<this> {
    const email = `${name.toLowerCase()}-${newId('u')}@example.com`.toLowerCase()
    const res = await this.call<{ token: string; user: { id: string } }>('POST', '/auth/signup', { email, password: 'bench password 1', name })
    this.token = res.token
    this.userId = res.user.id
    return this
  }

  async project(name = 'bench project'): Promise<string> {
    return (await this.call<{ id: string }>('POST', '/projects', { name })).id
  }

  async draftSpec(projectId: string, title = 'bench spec'): Promise<string> {
    const body = { project_id: projectId, title, description: 'A spec created by the benchmarks.' }
    return (await this.call<{ id: string }>('POST', '/specs', body)).id
  }
}

/**
 * A sandbox row for `specId` with a fresh token, status running: what the runner would have written before starting
 * the worker. Returns the id and the clear token the worker would get.
 */
export async function runningSandbox(database: Database, specId: string): Promise<{ id: string; token: string }> {
  const token = newSecret()
  const row = await insertSandbox(database.sql, {
    id: newId('sbx'),
    spec_id: specId,
    kind: 'phase',
    phase: 'explore',
    task_id: null,
    attempt: 1,
    generation: 0,
    token_hash: hashToken(token),
    provider: 'bench',
  })
  await database.sql`update sandboxes set status = 'running', last_heartbeat_at = now() where id = ${row.id}`
  return { id: row.id, token }
}
