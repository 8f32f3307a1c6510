import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts'
import { waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { everyEvent, startStack, type Stack } from '../support/stack.ts'
import { waitFor } from '../support/wait.ts'

/** OMOI_FORGE=github: a completed spec's branch gets one pull request, through the real Octokit against a fake GitHub. */

let stack: Stack
let forge: FakeGitHub
let owner: Api
let repo: string

beforeAll(async () => {
  forge = await startFakeGitHub()
  stack = await startStack({ skipBadSubmit: true }, { OMOI_FORGE: 'github', OMOI_FORGE_TOKEN: 'ghp_test', OMOI_FORGE_API_URL: forge.url })
  owner = await asUser(stack.server.url, 'Owner')
  repo = await makeRepo()
})
afterAll(async () => {
  await stack?.stop()
  await forge?.close()
})

const pullCreates = () => forge.requests.filter((r) => r.method === 'POST').length

describe('the pull request', () => {
  it('is opened once, with the artifacts in its body, also when the server restarts while it is being opened', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: repo, check_command: 'ls omoi-*.txt' })).body
    forge.holdCreates = true
    const ticket = (await owner.post('/tickets', { project_id: project.id, title: 'Greet politely', description: 'greet with hello' })).body
    const specId: string = ticket.spec_id

    // the pull request exists on the forge, but its answer has not reached omoi: restart right then
    await waitFor(() => forge.pulls.length === 1 || null, { timeoutMs: 120_000, what: 'the pull request to be created' })
    await stack.restart({}, async () => {
      forge.holdCreates = false
      forge.release()
    })

    const spec = await waitForStatus(owner, specId, ['completed', 'failed'], 60_000)
    const events = await everyEvent(owner, specId)
    expect(spec.status, JSON.stringify(events.filter((e) => /failed/.test(e.type)))).toBe('completed')
    expect(forge.pulls).toHaveLength(1)
    expect(pullCreates()).toBe(1)
    const pr = forge.pulls[0]!
    const branch = `omoi/${specId.slice(-10)}/spec`
    expect(pr).toMatchObject({ head: branch, base: 'main', title: 'Greet politely', number: 1 })
    expect(pr.body).toContain('## Check')
    expect(pr.body).toContain('`ls omoi-*.txt` passed')
    expect(pr.body).toContain('- TSK-001')
    expect(forge.requests.every((r) => r.authorization === 'token ghp_test')).toBe(true)
    expect(events.filter((e) => e.type === 'spec.pull_request_opened').map((e) => e.data)).toEqual([{ url: pr.html_url, number: 1 }])
    expect(spec.delivery.pull_request).toEqual({ url: pr.html_url, number: 1 })
  }, 240_000)
})
