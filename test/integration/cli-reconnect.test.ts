import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT_DIR } from '../../src/server.ts'
import { asUser, type Api } from '../support/api.ts'
import { launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { everyEvent, startStack, type Stack } from '../support/stack.ts'
import { tempDir } from '../support/temp.ts'
import { waitFor } from '../support/wait.ts'

/** `omoi watch` across a server restart: it rejoins with the last seq it showed and shows every event once, in order. */

let stack: Stack
let owner: Api

beforeAll(async () => {
  stack = await startStack()
  owner = await asUser(stack.server.url, 'Owner')
})
afterAll(() => stack?.stop())

describe('omoi watch', () => {
  it('replays what it missed while the server restarted, each event once, and exits 0 at completion', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const specId = await launchSpec(owner, project.id, 'Watched through a restart', { approval: 'manual' })
    const home = await tempDir('cli-watch')
    const watcher = spawn(process.execPath, [join(ROOT_DIR, 'bin/omoi.mjs'), '--json', '--server', stack.server.url, 'watch', specId], {
      env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: home, OMOI_TOKEN: owner.token! },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    watcher.stdout.on('data', (d) => (out += d))
    watcher.stderr.on('data', (d) => (err += d))
    const exited = new Promise<number | null>((resolve) => watcher.on('exit', (code) => resolve(code)))
    try {
      await waitForStatus(owner, specId, ['awaiting_approval'], 120_000)
      await waitFor(() => out.includes('"spec.awaiting_approval"'), { what: 'the watch to show the approval wait', timeoutMs: 60_000 })
      // the server goes away and comes back; the approval happens while the watcher may still be reconnecting
      await stack.restart()
      expect((await owner.post(`/specs/${specId}/approve`, { phase: 'requirements' })).status).toBe(200)
      for (;;) {
        const spec = await waitForStatus(owner, specId, ['awaiting_approval', 'completed', 'failed'], 120_000)
        if (spec.status !== 'awaiting_approval') break
        await owner.post(`/specs/${specId}/approve`, { phase: spec.current_phase })
      }
      expect(await exited, err).toBe(0)
    } finally {
      watcher.kill('SIGKILL')
    }
    const shown = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; type: string })
    const stored = await everyEvent(owner, specId)
    const lastShown = shown.at(-1)!.seq
    expect(shown.map((e) => e.seq)).toEqual(stored.filter((e) => e.seq <= lastShown).map((e) => e.seq))
    expect(shown.map((e) => e.type)).toContain('spec.execution_completed')
  }, 300_000)
})
