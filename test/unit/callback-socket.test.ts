import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { connect } from 'node:net'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config.ts'
import { callbackDir, listenOnCallbackSocket } from '../../src/sandbox/callback-socket.ts'

/** The servers' sandbox sockets: one per server process, in the directory sandboxes see, whatever was left there. */

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'omoi-sock-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

function server(): Server {
  const http = createServer((_req, res) => res.end('here'))
  cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())))
  return http
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path)
    probe.once('connect', () => {
      probe.destroy()
      resolve(true)
    })
    probe.once('error', () => resolve(false))
  })
}

describe('the sandbox sockets', () => {
  it('removes the socket of a server that was killed, and listens on a socket of its own beside', async () => {
    const dir = await dataDir()
    const killedPath = join(callbackDir(dir), 'killed.sock')
    // a server killed with SIGKILL leaves its socket file behind, with nobody listening
    const script = `require('node:fs').mkdirSync(${JSON.stringify(callbackDir(dir))}); require('node:net').createServer().listen(${JSON.stringify(killedPath)}, () => console.log('up'))`
    const killed = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise((resolve) => killed.stdout.once('data', resolve))
    killed.kill('SIGKILL')
    await new Promise((resolve) => killed.once('exit', resolve))
    expect(await readdir(callbackDir(dir))).toEqual(['killed.sock'])

    const path = await listenOnCallbackSocket(server(), dir)
    expect(await readdir(callbackDir(dir))).toEqual([basename(path)])
    expect(await answers(path)).toBe(true)
  })

  it('lets several servers of one data directory (nodes of a cluster) listen side by side', async () => {
    const dir = await dataDir()
    const first = await listenOnCallbackSocket(server(), dir)
    const second = await listenOnCallbackSocket(server(), dir)
    expect(second).not.toBe(first)
    expect((await readdir(callbackDir(dir))).sort()).toEqual([basename(first), basename(second)].sort())
    expect(await answers(first)).toBe(true)
    expect(await answers(second)).toBe(true)
  })

  it('refuses a data directory too deep for a unix socket path, instead of listening on a cut-off one', async () => {
    const deep = join(await dataDir(), 'd'.repeat(100))
    const error = await listenOnCallbackSocket(server(), deep).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toMatch(/^invalid setting OMOI_DATA_DIR: the sandbox socket .* is longer than a unix socket path may be \(107 bytes\); use a shorter data directory$/)
  })
})
