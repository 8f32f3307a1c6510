import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Api } from '../support/api.ts'
import { waitFor } from '../support/wait.ts'
import { ROOT_DIR } from '../../src/server.ts'
import { lockHolder } from '../../src/db/data-dir-lock.ts'

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })

let child: ChildProcess | undefined
afterEach(() => {
  child?.kill('SIGKILL')
})

/** Runs `npm start` with nothing configured but the port and data dir; resolves with the URL it prints. */
function npmStart(dataDir: string, port: number): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), OMOI_DATA_DIR: dataDir, OMOI_LOG_LEVEL: 'warn' }
  delete env.DATABASE_URL
  delete env.ANTHROPIC_API_KEY
  child = spawn('npm', ['start', '--silent'], { cwd: ROOT_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    let out = ''
    child!.stdout!.on('data', (d) => {
      out += d
      const m = /omoi is running at (\S+)/.exec(out)
      if (m) resolve(m[1]!)
    })
    child!.stderr!.on('data', (d) => (out += d))
    child!.on('exit', (code) => reject(new Error(`npm start exited with ${code}: ${out}`)))
  })
}

/** SIGTERM; a clean shutdown exits 0 (npm itself may report the signal) and releases the database lock. */
async function stopGracefully(dataDir: string): Promise<void> {
  const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child!.once('exit', (code, signal) => resolve({ code, signal }))
    child!.kill('SIGTERM')
  })
  expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true)
  // npm may exit before the server under it has finished closing
  await waitFor(async () => (await lockHolder(join(dataDir, 'db'))) === null, { what: 'the database lock to be released' })
}

describe('npm start on embedded PGlite', () => {
  it('serves, prints its URL, stops on SIGTERM and keeps its data across a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'omoi-start-'))
    const port = await freePort()
    const url = await npmStart(dataDir, port)
    expect(url).toBe(`http://127.0.0.1:${port}`)
    expect((await fetch(`${url}/readyz`)).status).toBe(200)

    const api = new Api(url)
    await api.signup('Persistent', 'persistent@example.com')
    const project = (await api.post('/projects', { name: 'Kept' })).body
    await stopGracefully(dataDir)

    const again = await npmStart(dataDir, port)
    const login = await new Api(again).post('/auth/login', { email: 'persistent@example.com', password: 'correct horse battery' })
    expect(login.status).toBe(200)
    const relogged = new Api(again)
    relogged.token = login.body.token
    expect((await relogged.get('/projects')).body.projects.map((p: { id: string }) => p.id)).toEqual([project.id])
    await stopGracefully(dataDir)
  }, 120_000)

  it('refuses to start with a wrong setting, naming it in one line', async () => {
    const env = { ...process.env, PORT: 'eighty' }
    const proc = spawn('npm', ['start', '--silent'], { cwd: ROOT_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    proc.stderr.on('data', (d) => (err += d))
    const code = await new Promise((r) => proc.on('exit', r))
    expect(code).toBe(1)
    expect(err.trim()).toBe('omoi: invalid setting PORT: PORT must be a whole number')
  })
})
