import { readdir, readFile, readlink } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { Database } from '../../src/db/connect.ts'
import type { SandboxRow } from '../../src/db/sandboxes.ts'
import type { Api } from './api.ts'
import { callbackTap, type CallbackTap } from './callback-tap.ts'
import { freshDatabase } from './db.ts'
import { startFakeModel, type FakeModel, type FakeModelOptions } from './fake-model.ts'
import { startModelGate, type ModelGate } from './model-gate.ts'
import { startTestServer, type TestServer } from './server.ts'
import { removeTempDir, tempDir } from './temp.ts'
import { waitFor } from './wait.ts'

/**
 * The real server behind a fixed port, its own database and data directory, and the fake model reached through a
 * gate (test/support/model-gate.ts). `restart()` stops the server gracefully and starts a new one on the same port,
 * database and data directory: what an operator's restart does, with sandbox callbacks landing on the new process.
 */
export interface Stack {
  model: FakeModel
  gate: ModelGate
  database: Database
  dataDir: string
  port: number
  env: Record<string, string>
  server: TestServer
  /** With `{tap: true}`: the proxy on the sandbox socket that sandboxes call back through, which notes their tokens. */
  tap: CallbackTap | undefined
  /**
   * Graceful close, then a new server on the same port, database and data directory. `between` runs while no server
   * is up (to read what the old one left behind).
   */
  restart(env?: Record<string, string>, between?: () => Promise<void>): Promise<TestServer>
  /** Stops everything, and ends any worker process of this stack still running. */
  stop(): Promise<void>
}

/** A free TCP port on loopback (closed again before it is answered). */
export async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

export async function startStack(
  options: FakeModelOptions = {},
  env: Record<string, string> = {},
  extras: { tap?: boolean } = {},
): Promise<Stack> {
  const model = await startFakeModel(options)
  const gate = await startModelGate(model.url)
  const database = await freshDatabase()
  const dataDir = await tempDir('data')
  const port = await freePort()
  const tap = extras.tap ? callbackTap(dataDir) : undefined
  const base = {
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: gate.url,
    PORT: String(port),
    ...env,
  }
  const stack: Stack = {
    model,
    gate,
    database,
    dataDir,
    port,
    env: base,
    tap,
    server: await startTestServer(base, { database, dataDir }),
    async restart(more = {}, between) {
      await tap?.detach()
      await stack.server.close()
      await between?.()
      stack.server = await startTestServer({ ...base, ...more }, { database, dataDir })
      await tap?.attach()
      return stack.server
    },
    async stop() {
      await tap?.detach().catch(() => {})
      await stack.server.close().catch(() => {})
      await killWorkersUnder(dataDir)
      await gate.close()
      await model.close()
      await database.close()
      await removeTempDir(dataDir)
    },
  }
  await tap?.attach()
  return stack
}

/** Kills a sandbox worker process of these tests (only if that pid still runs the worker bundle). */
export async function killWorker(pid: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<boolean> {
  if (!(await isWorker(pid))) return false
  try {
    process.kill(pid, signal)
    return true
  } catch {
    return false
  }
}

/**
 * Ends every worker process whose working copy lies under `dataDir` (so: started by a server of this test, also one
 * whose pid was never recorded because its server stopped while creating it).
 */
export async function killWorkersUnder(dataDir: string): Promise<void> {
  const root = `${dataDir}/sandboxes/`
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '')
    if (cwd.startsWith(root)) await killWorker(pid)
  }
}

export async function isWorker(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  return cmdline.includes('worker.mjs')
}

/** The environment a local sandbox's worker was started with (its token is only ever there). */
export async function workerEnv(pid: number): Promise<Record<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8')
  return Object.fromEntries(
    raw
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  )
}

export type Sandbox = SandboxRow

export async function sandboxesOf(sql: Database['sql'], specId: string): Promise<Sandbox[]> {
  return sql<Sandbox[]>`select * from sandboxes where spec_id = ${specId} order by created_at, id`
}

/** Waits for the running sandbox (with its worker's pid) of a phase or task of the spec. */
export async function runningSandbox(sql: Database['sql'], specId: string, where: { phase?: string; task?: string }, timeoutMs = 60_000) {
  return waitFor(
    async () => {
      const rows = await sandboxesOf(sql, specId)
      return rows.find(
        (r) =>
          r.status === 'running' &&
          r.external_id &&
          (where.phase === undefined || (r.kind === 'phase' && r.phase === where.phase)) &&
          (where.task === undefined || r.task_id === where.task),
      )
    },
    { timeoutMs, what: `a running sandbox for ${JSON.stringify(where)}` },
  )
}

export interface LoggedEvent {
  seq: number
  id: string
  spec_id: string
  type: string
  data: any
  source: string
  sandbox_id: string | null
  created_at: string
}

/** Every event of a spec, oldest first, however many (pages through `after_seq`). */
export async function everyEvent(api: Api, specId: string): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = []
  for (;;) {
    const res = await api.get(`/specs/${specId}/events?after_seq=${out.at(-1)?.seq ?? 0}&limit=500`)
    if (res.status !== 200) throw new Error(`events: ${res.status} ${JSON.stringify(res.body)}`)
    out.push(...res.body.events)
    if (res.body.events.length < 500) return out
  }
}

/** Waits until the spec's log has an event matching `match`; returns it. */
export async function waitForEvent(api: Api, specId: string, match: (e: LoggedEvent) => boolean, what: string, timeoutMs = 60_000) {
  return waitFor(async () => (await everyEvent(api, specId)).find(match), { timeoutMs, intervalMs: 100, what })
}

/** seq is 1..n without gaps and every event id occurs once. */
export function logProblems(events: LoggedEvent[]): string[] {
  const problems: string[] = []
  events.forEach((e, i) => {
    if (e.seq !== i + 1) problems.push(`event #${i + 1} has seq ${e.seq}`)
  })
  const ids = new Set(events.map((e) => e.id))
  if (ids.size !== events.length) problems.push(`${events.length - ids.size} duplicate event ids`)
  return problems
}
