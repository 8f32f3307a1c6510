import { createServer, type Server } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { serverFetch } from '../../src/sandbox/worker/transport.ts'

/** How the worker reaches the server from a sandbox whose network has no way to the server's port. */

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function socketDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'omoi-transport-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function listen(server: Server, where: string | 0): Promise<void> {
  await new Promise<void>((resolve) => (where === 0 ? server.listen(0, '127.0.0.1', resolve) : server.listen(where, resolve)))
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
}

const answering = (name: string) => createServer((req, res) => res.end(`${name} ${req.method} ${req.url} ${req.headers.authorization ?? ''}`))

/** A server on 127.0.0.1 standing for the public URL: answers its base under `/omoi/api/v1` and counts its requests. */
async function publicServer() {
  const seen: string[] = []
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    req.on('end', () => res.end(`public ${req.method} ${req.url} ${req.headers.authorization ?? ''} ${body}`))
  })
  await listen(server, 0)
  return { base: `http://127.0.0.1:${(server.address() as { port: number }).port}/omoi/api/v1`, seen }
}

/** The worker's log lines (JSON on stderr) written while `fn` runs. */
async function logged(fn: () => Promise<void>): Promise<{ level: string; msg: string }[]> {
  const lines: string[] = []
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => lines.push(String(chunk)) > 0)
  try {
    await fn()
  } finally {
    spy.mockRestore()
  }
  return lines.flatMap((line) => line.trim().split('\n')).map((line) => JSON.parse(line) as { level: string; msg: string })
}

const EVENTS = 'http://omoi.sandbox/api/v1/sandboxes/sbx_1/events'
const post = { method: 'POST', headers: { authorization: 'Bearer t' }, body: '{"events":[]}' }

describe('the worker’s way to the server', () => {
  it('sends every request to the callback origin over a socket in the directory that answers, past a dead one', async () => {
    const dir = await socketDir()
    // a socket whose server was killed (nobody listens), a file that is no socket, and a live server
    const dead = createNetServer()
    await new Promise<void>((resolve) => dead.listen(join(dir, 'a-dead.sock'), resolve))
    await new Promise<void>((resolve) => dead.close(() => resolve()))
    await writeFile(join(dir, 'a-dead.sock'), '')
    await writeFile(join(dir, 'notes.txt'), 'not a socket')
    await listen(answering('live'), join(dir, 'b-live.sock'))

    const toServer = serverFetch('http://omoi.sandbox/api/v1', dir)
    for (let i = 0; i < 4; i++) {
      const res = await toServer('http://omoi.sandbox/api/v1/sandboxes/sbx_1/events', { method: 'POST', headers: { authorization: 'Bearer t' }, body: '{}' })
      expect(await res.text()).toBe('live POST /api/v1/sandboxes/sbx_1/events Bearer t')
    }
  })

  it('fails as a server that is down would, when no socket answers (the caller retries)', async () => {
    const toServer = serverFetch('http://omoi.sandbox/api/v1', await socketDir())
    await expect(toServer('http://omoi.sandbox/api/v1/sandboxes/sbx_1/assignment')).rejects.toThrow()
  })

  it('sends other origins, and everything without a socket directory, out as usual', async () => {
    const tcp = answering('tcp')
    await listen(tcp, 0)
    const url = `http://127.0.0.1:${(tcp.address() as { port: number }).port}/x`
    expect(await (await serverFetch('http://omoi.sandbox/api/v1', await socketDir())(url)).text()).toBe('tcp GET /x ')
    expect(await (await serverFetch(url, undefined)(url)).text()).toBe('tcp GET /x ')
  })

  it('with no socket answering, sends the request to the fallback URL (its path kept), and goes back to a socket once one answers', async () => {
    const dir = await socketDir()
    // a socket whose server was killed: a file nobody answers on
    await writeFile(join(dir, 'a-dead.sock'), '')
    const fallback = await publicServer()
    const toServer = serverFetch('http://omoi.sandbox/api/v1', dir, fallback.base)
    const lines = await logged(async () => {
      for (let i = 0; i < 2; i++) {
        expect(await (await toServer(EVENTS, post)).text()).toBe('public POST /omoi/api/v1/sandboxes/sbx_1/events Bearer t {"events":[]}')
      }
      await listen(answering('live'), join(dir, 'b-live.sock'))
      expect(await (await toServer(EVENTS, post)).text()).toBe('live POST /api/v1/sandboxes/sbx_1/events Bearer t')
    })
    expect(fallback.seen).toHaveLength(2)
    // each switch once, not each request
    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual([
      'warn no server answers on a sandbox socket: calling back on the public URL',
      'info a server answers on the sandbox socket again: calling back there',
    ])
  })

  it('falls back also when the socket directory is not there', async () => {
    const fallback = await publicServer()
    const toServer = serverFetch('http://omoi.sandbox/api/v1', join(await socketDir(), 'gone'), fallback.base)
    await logged(async () => void (await toServer(EVENTS)).body?.cancel())
    expect(fallback.seen).toEqual(['GET /omoi/api/v1/sandboxes/sbx_1/events'])
  })

  it('prefers a live socket to the fallback URL, and never re-sends a request a socket took', async () => {
    const dir = await socketDir()
    const fallback = await publicServer()
    await listen(answering('live'), join(dir, 'live.sock'))
    const toServer = serverFetch('http://omoi.sandbox/api/v1', dir, fallback.base)
    for (let i = 0; i < 3; i++) expect(await (await toServer(EVENTS, post)).text()).toBe('live POST /api/v1/sandboxes/sbx_1/events Bearer t')

    // a server that takes the connection and drops the request: the request may have been seen, so it is not re-sent
    const dropping = createServer((req) => req.socket.destroy())
    const other = await socketDir()
    await listen(dropping, join(other, 'dropping.sock'))
    await expect(serverFetch('http://omoi.sandbox/api/v1', other, fallback.base)(EVENTS, post)).rejects.toThrow()
    expect(fallback.seen).toEqual([])
  })
})
