import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config.ts'
import { ROOT_DIR } from '../../src/server.ts'
import { Api } from '../support/api.ts'
import { freshDatabase } from '../support/db.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { tempDir } from '../support/temp.ts'

/** `node src/main.ts` with these settings; answers its exit code and what it wrote on stderr. */
async function startFails(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', OMOI_LOG_LEVEL: 'silent', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  proc.stderr.on('data', (d) => (stderr += d))
  const code = await new Promise<number | null>((r) => proc.on('exit', r))
  return { code, stderr }
}

describe('start-up failures name the setting in one line', () => {
  it('an unreachable DATABASE_URL', async () => {
    const { code, stderr } = await startFails({ DATABASE_URL: 'postgres://omoi:secret@127.0.0.1:1/omoi' })
    expect(code).toBe(1)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toMatch(/^omoi: invalid setting DATABASE_URL: cannot reach the database at 127\.0\.0\.1:1\/omoi \(.*ECONNREFUSED/)
    expect(stderr).not.toContain('secret')
  })

  it('an OMOI_DATA_DIR that cannot be written', async () => {
    const scratch = await tempDir('settings')
    // a regular file where a directory should be: mkdir fails whoever runs the test (root ignores permissions)
    await writeFile(join(scratch, 'file'), 'x')
    const { code, stderr } = await startFails({ OMOI_DATA_DIR: join(scratch, 'file', 'data') })
    expect(code).toBe(1)
    expect(stderr.trim()).toMatch(new RegExp(`^omoi: invalid setting OMOI_DATA_DIR: ${scratch}/file/data is not writable \\(ENOTDIR`))
  })

  it('a sandbox network that cannot be had here, or has nothing to apply to', async () => {
    const scratch = await tempDir('settings')
    // a slirp4netns that cannot connect anything, first on PATH, as on a machine without /dev/net/tun
    await writeFile(join(scratch, 'slirp4netns'), '#!/bin/sh\necho "open(/dev/net/tun): No such device" >&2\nexit 1\n', { mode: 0o755 })
    const nat = await startFails({ OMOI_SANDBOX_NETWORK: 'nat', OMOI_DATA_DIR: join(scratch, 'data'), PATH: `${scratch}:${process.env.PATH}` })
    expect(nat.code).toBe(1)
    expect(nat.stderr.trim().split('\n')).toHaveLength(1)
    expect(nat.stderr).toMatch(/^omoi: could not start: OMOI_SANDBOX_NETWORK=nat cannot be had here: slirp4netns exited \(1\) .*No such device; or set OMOI_SANDBOX_NETWORK=none\n$/)

    const unconfined = await startFails({ OMOI_SANDBOX_NETWORK: 'none', OMOI_SANDBOX_ISOLATION: 'none' })
    expect(unconfined.code).toBe(1)
    expect(unconfined.stderr).toMatch(/^omoi: invalid setting OMOI_SANDBOX_NETWORK: it applies to local sandboxes in bubblewrap only/)
  })

  it('a HOST this machine cannot listen on', async () => {
    const database = await freshDatabase()
    try {
      // a documentation address (RFC 5737) that is not one of this machine's
      const local = new Set(Object.values(networkInterfaces()).flat().map((i) => i?.address))
      const host = ['198.51.100.7', '203.0.113.7', '192.0.2.77'].find((a) => !local.has(a))!
      const failed = await startTestServer({ HOST: host }, { database }).catch((err: unknown) => err)
      expect(failed).toBeInstanceOf(ConfigError)
      expect((failed as Error).message).toMatch(new RegExp(`^invalid setting HOST: cannot listen on ${host.replaceAll('.', '\\.')}:0 \\(.*EADDRNOTAVAIL`))
    } finally {
      await database.close()
    }
  })
})

describe('OMOI_SIGNUP=closed', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ OMOI_SIGNUP: 'closed', OMOI_ADMIN_EMAILS: 'boss@example.com' })
  })
  afterAll(() => server?.stop())

  it('refuses strangers, lets the listed admin in, and only admins add people', async () => {
    const stranger = await new Api(server.url).post('/auth/signup', { email: 'eve@example.com', password: 'correct horse battery', name: 'Eve' })
    expect(stranger.status).toBe(403)
    expect(stranger.body.error.message).toMatch(/Signup is closed/)

    const boss = await new Api(server.url).signup('Boss', 'boss@example.com')
    expect(boss.user!.role).toBe('admin')

    const added = await boss.post('/users', { email: 'Ann@Example.com', password: 'another good one', name: 'Ann' })
    expect(added.status).toBe(201)
    expect(added.body.user).toMatchObject({ email: 'ann@example.com', name: 'Ann', role: 'user' })
    expect((await boss.post('/users', { email: 'ann@example.com', password: 'another good one', name: 'Ann' })).status).toBe(409)
    expect((await boss.post('/users', { email: 'nope', password: 'x', name: '' })).body.error.fields).toHaveProperty('email')

    const ann = new Api(server.url)
    const login = await ann.post('/auth/login', { email: 'ann@example.com', password: 'another good one' })
    expect(login.status).toBe(200)
    ann.token = login.body.token
    const byAnn = await ann.post('/users', { email: 'bob@example.com', password: 'correct horse battery', name: 'Bob' })
    expect(byAnn.status).toBe(403)
    expect((await new Api(server.url).post('/users', { email: 'bob@example.com', password: 'correct horse battery', name: 'Bob' })).status).toBe(401)
  })
})
