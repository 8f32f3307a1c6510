import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import { forSpec } from '../support/model-gate.ts'
import { launchSpec } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { waitFor } from '../support/wait.ts'
import { everyEvent, logProblems, runningSandbox, sandboxesOf, startStack, waitForEvent, type Stack } from '../support/stack.ts'

/** The silence rule counts only time this server was up to hear a worker (issue 11, case 9). */

const SILENCE_MS = 6000

let stack: Stack
let owner: Api

beforeAll(async () => {
  stack = await startStack({ skipBadSubmit: true }, { OMOI_SILENCE_MS: String(SILENCE_MS) })
  owner = await asUser(stack.server.url, 'Owner')
})
afterAll(() => stack?.stop())

/** A spec launched in a project of its own, its explore agent held inside its first model call, and its sandbox. */
async function exploring(title: string, projectName: string) {
  const hold = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration' && r.called.length === 1, 1)
  const projectId = (await owner.post('/projects', { name: projectName, repo_url: await makeRepo() })).body.id
  const specId = await launchSpec(owner, projectId, title)
  await hold.first()
  return { hold, specId, first: await runningSandbox(stack.database.sql, specId, { phase: 'explore' }) }
}

describe('a server down longer than OMOI_SILENCE_MS', () => {
  it('keeps the healthy worker it finds at restart: no replacement, the phase completes with its first sandbox', async () => {
    const title = 'Long restart'
    const { hold, specId, first } = await exploring(title, 'Silence')

    // The worker is frozen across the restart (SIGSTOP on its process group) so that its heartbeat is surely older than
    // the silence allowed when the new server first looks, and thawed a little after: what it missed was only downtime.
    // the sandbox's processes share one process group (bubblewrap's, with isolation): field 5 of /proc/<pid>/stat
    const stat = await readFile(`/proc/${first.external_id}/stat`, 'utf8')
    const group = -Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])
    process.kill(group, 'SIGSTOP')
    try {
      await stack.restart({}, () => sleep(SILENCE_MS + 2000))
      await waitFor(async () => (await fetch(`${stack.server.url}/readyz`)).status === 200, { what: 'the server to be ready' })
      await sleep(SILENCE_MS / 2)
    } finally {
      process.kill(group, 'SIGCONT')
    }
    hold.release()

    const done = await waitForEvent(owner, specId, (e) => e.type === 'spec.phase_completed' && e.data.phase === 'explore', 'explore to complete')
    expect(done.data.attempt).toBe(1)
    const events = await everyEvent(owner, specId)
    expect(events.filter((e) => e.type === 'spec.sandbox_replaced')).toEqual([])
    expect(events.filter((e) => e.type === 'spec.phase_started' && e.data.phase === 'explore').map((e) => e.data.sandbox_id)).toEqual([first.id])
    expect(logProblems(events)).toEqual([])
    expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
  }, 120_000)
})

describe('a worker that died while the server was down', () => {
  it('is replaced under the next generation, once: one sandbox per (phase, attempt, generation)', async () => {
    const title = 'Died during restart'
    const { hold, specId, first } = await exploring(title, 'Replaced')

    await stack.restart({}, async () => {
      process.kill(Number(first.external_id), 'SIGKILL')
      await waitFor(async () => !(await readFile(`/proc/${first.external_id}/stat`, 'utf8').catch(() => '')), { what: 'the worker to be gone' })
    })
    hold.release()

    const replaced = await waitForEvent(owner, specId, (e) => e.type === 'spec.sandbox_replaced', 'the dead sandbox to be replaced')
    expect(replaced.data).toMatchObject({ phase: 'explore', attempt: 1, generation: 1, reason: 'its worker did not survive a restart' })
    await waitForEvent(owner, specId, (e) => e.type === 'spec.phase_completed' && e.data.phase === 'explore', 'explore to complete')
    const explore = (await sandboxesOf(stack.database.sql, specId)).filter((r) => r.phase === 'explore')
    expect(explore.map((r) => [r.attempt, r.generation])).toEqual([[1, 0], [1, 1]])
    expect(explore[0]).toMatchObject({ id: first.id, end_reason: 'replaced: its worker did not survive a restart' })
    expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
  }, 120_000)
})

