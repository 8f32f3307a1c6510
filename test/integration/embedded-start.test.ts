import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildWorker } from '../../scripts/build-worker.ts'
import { buildWeb } from '../../scripts/build-web.ts'
import { Api } from '../support/api.ts'
import { tempDir } from '../support/temp.ts'
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
// bundling is not what this test times (a fresh clone builds both at its first start)
beforeAll(() => Promise.all([buildWorker(), buildWeb()]))
afterEach(() => {
  // npm and the server under it are one process group: a failed test leaves neither running
  if (child?.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL')
})

/**
 * Runs `npm start` with nothing configured but the port and data dir; resolves with the URL it prints. `viaNpm: false`
 * runs the command the npm script runs (`node --import tsx src/main.ts`), without npm's own start-up.
 */
function npmStart(dataDir: string, port: number, { viaNpm = true } = {}): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), OMOI_DATA_DIR: dataDir, OMOI_LOG_LEVEL: 'warn' }
  delete env.DATABASE_URL
  delete env.ANTHROPIC_API_KEY
  const [command, args] = viaNpm ? ['npm', ['start', '--silent']] : [process.execPath, ['--import', 'tsx', 'src/main.ts']]
  child = spawn(command as string, args as string[], { cwd: ROOT_DIR, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
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
    const dataDir = await tempDir('start')
    const port = await freePort()
    const url = await npmStart(dataDir, port)
    expect(url).toBe(`http://127.0.0.1:${port}`)
    expect((await fetch(`${url}/readyz`)).status).toBe(200)

    const api = new Api(url)
    await api.signup('Persistent', 'persistent@example.com')
    const project = (await api.post('/projects', { name: 'Kept' })).body
    await stopGracefully(dataDir)

    // the first start ran PGlite's initdb (8–25 s on a loaded 2-core machine); this one opens that database again
    const again = await npmStart(dataDir, port, { viaNpm: false })
    const login = await new Api(again).post('/auth/login', { email: 'persistent@example.com', password: 'correct horse battery' })
    expect(login.status).toBe(200)
    const relogged = new Api(again)
    relogged.token = login.body.token
    expect((await relogged.get('/projects')).body.projects.map((p: { id: string }) => p.id)).toEqual([project.id])
    await stopGracefully(dataDir)
  }, 90_000)

  it('refuses to start with a wrong setting, naming it in one line', async () => {
    const env = { ...process.env, PORT: 'eighty' }
    const started = Date.now()
    const proc = spawn('npm', ['start', '--silent'], { cwd: ROOT_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    proc.stderr.on('data', (d) => (err += d))
    const code = await new Promise((r) => proc.on('exit', r))
    expect(code).toBe(1)
    expect(err.trim()).toBe('omoi: invalid setting PORT: PORT must be a whole number')
    // the settings are read before the server's modules load: a typo is reported at once
    expect(Date.now() - started).toBeLessThan(15_000)
  })
})
