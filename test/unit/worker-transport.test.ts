import { createServer, type Server } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
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
})
