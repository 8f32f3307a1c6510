import { execFile, spawn } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT_DIR } from '../../src/server.ts'
import { asUser, type Api } from '../support/api.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { startWithModel, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import type { TestServer } from '../support/server.ts'
import { tempDir } from '../support/temp.ts'

/** The package's bin (`npx omoi`) against the real server with the fake model. */

let server: TestServer
let model: FakeModel
let user: Api
let configHome: string

beforeAll(async () => {
  ;({ server, model } = await startWithModel())
  user = await asUser(server.url, 'Ada')
  configHome = await tempDir('cli-config')
})
afterAll(async () => {
  await server?.stop()
  await model?.close()
})

/** Runs `omoi …`; answers its exit code and output. Not a TTY, so no colours. */
function omoi(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT_DIR, 'bin/omoi.mjs'), ...args],
      { cwd: ROOT_DIR, env: { PATH: process.env.PATH ?? '', HOME: configHome, XDG_CONFIG_HOME: configHome }, timeout: 150_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
}

/** Runs `omoi …` with its stdout a pipe whose reader has already gone (`| head` after it read enough). */
function omoiIntoClosedPipe(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT_DIR, 'bin/omoi.mjs'), ...args], {
    cwd: ROOT_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: configHome, XDG_CONFIG_HOME: configHome },
  })
  child.stdout.destroy()
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)))
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })))
}

describe('omoi, the terminal client', () => {
  it('logs in, creates a project, launches with --watch to completion (exit 0), and reads events and artifacts', async () => {
    const login = await omoi('--server', server.url, 'login', '--email', user.user!.email, '--password', 'correct horse battery')
    expect(login, login.stderr).toMatchObject({ code: 0 })
    expect(login.stdout).toContain(`logged in to ${server.url} as Ada`)
    const saved = JSON.parse(await readFile(join(configHome, 'omoi', 'config.json'), 'utf8'))
    expect(saved).toMatchObject({ server: server.url, email: user.user!.email, token: expect.any(String) })
    expect((await stat(join(configHome, 'omoi', 'config.json'))).mode & 0o777).toBe(0o600)

    const created = await omoi('--json', 'projects', 'create', 'Shop', '--repo', await makeRepo())
    expect(created.code, created.stderr).toBe(0)
    const project = JSON.parse(created.stdout)
    expect((await omoi('projects')).stdout).toContain(`${project.id}  Shop`)

    const run = await omoi('launch', 'Watched spec', '--project', project.id, '--watch')
    expect(run.code, run.stdout + run.stderr).toBe(0)
    const out = run.stdout
    expect(out).toMatch(/^launched spec_\w+ \(executing, explore\)$/m)
    expect(out).not.toContain('\u001b[') // not a TTY: no colours
    const lines = ['launched', 'explore started (attempt 1)', 'rejected', 'explore accepted score', 'TSK-001 completed', 'completed']
    let at = 0
    for (const needle of lines) {
      const found = out.indexOf(needle, at)
      expect(found, `"${needle}" after position ${at} in:\n${out}`).toBeGreaterThan(-1)
      at = found
    }
    expect(out).toMatch(/explore ✓ → requirements ✓ → design ✓ → tasks ✓ → sync ✓ → execute ✓ {2}\[completed\]/)
    // each event once, in seq order
    const seqs = [...out.matchAll(/#(\d+) {2}/g)].map((m) => Number(m[1]))
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)

    const specId = /launched (spec_\w+)/.exec(out)![1]!
    const events = await omoi('--json', 'events', specId)
    expect(JSON.parse(events.stdout).events.map((e: { type: string }) => e.type)).toContain('spec.execution_completed')
    const artifacts = JSON.parse((await omoi('--json', 'artifacts', specId)).stdout)
    expect(artifacts.requirements.requirements.length).toBeGreaterThan(0)

    // what the spec changed, as the server's mirror of the repository has it
    const diff = await omoi('diff', specId)
    expect(diff.code, diff.stderr).toBe(0)
    expect(diff.stdout).toMatch(/^added +\+\d+ -0 {2}\S+/m)
    expect(diff.stdout.trim().split('\n').at(-1)).toMatch(/^\d+ files?, \+\d+ -\d+$/)
    const patch = await omoi('diff', specId, '--patch')
    expect(patch.stdout).toMatch(/^diff --git a\/\S+ b\/\S+$/m)
  })

  it('watching a cancelled spec exits 1; steering commands answer the new status', async () => {
    const project = (await user.post('/projects', { name: 'Steered', repo_url: await makeRepo() })).body
    const launched = JSON.parse((await omoi('--json', 'launch', 'Manual', '--project', project.id, '--approval', 'manual')).stdout)
    await waitForStatus(user, launched.spec_id, ['awaiting_approval'], 120_000)
    const cancel = await omoi('cancel', launched.spec_id)
    expect(cancel.code, cancel.stderr).toBe(0)
    expect(cancel.stdout).toMatch(/^cancel sent: cancelled/)
    const watched = await omoi('watch', launched.spec_id)
    expect(watched.code).toBe(1)
    expect(watched.stdout).toMatch(/requirements awaits your approval/)
    expect(watched.stdout.trim().split('\n').at(-1)).toMatch(/\[cancelled\]$/)
    const again = await omoi('approve', launched.spec_id, '--phase', 'requirements')
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/^omoi: .*cancelled/)
  })

  it('approving a completed spec says nothing awaits approval; a reader that goes away ends the CLI quietly', async () => {
    const project = (await user.post('/projects', { name: 'Finished', repo_url: await makeRepo() })).body
    const specId = (await user.post('/specs/launch', { project_id: project.id, title: 'Done already', description: 'done' })).body.spec_id
    await waitForStatus(user, specId, ['completed'], 120_000)
    const approve = await omoi('approve', specId)
    expect(approve.code).toBe(1)
    expect(approve.stderr).toBe(`omoi: nothing of ${specId} is awaiting approval (it is completed)\n`)

    // `omoi events <spec> --json | head`: the pipe is closed before the CLI writes a byte
    for (const args of [['--json', 'events', specId], ['events', specId]]) {
      const closed = await omoiIntoClosedPipe(...args)
      expect(closed, args.join(' ')).toEqual({ code: 0, stderr: '' })
    }
  })

  it('exits 2 on misuse and shows help on every level', async () => {
    expect((await omoi('launch', 'x')).code).toBe(2) // --project missing
    expect((await omoi('launch', 'x', '--project', 'p', '--budget', 'lots')).code).toBe(2)
    expect((await omoi('frobnicate')).code).toBe(2)
    const help = await omoi('watch', '--help')
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: omoi watch [options] <spec>')
    const logged = await omoi('--server', 'http://127.0.0.1:9', 'projects')
    expect(logged.code).toBe(1)
    expect(logged.stderr).toMatch(/^omoi: cannot reach http:\/\/127\.0\.0\.1:9/)
  })
})
