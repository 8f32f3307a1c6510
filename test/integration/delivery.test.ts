import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import { goodRequirements } from '../support/fixtures.ts'
import { waitForStatus } from '../support/omoi.ts'
import { git, makeRepo } from '../support/repo.ts'
import { everyEvent, sandboxesOf, startStack, type LoggedEvent, type Stack } from '../support/stack.ts'

/**
 * Issue 17 end to end, with the fake model on a real local repository: tasks are judged by the check the sandbox runs
 * and by git, every task's work lands on one spec branch (conflicts included), and the diff routes show it.
 */

let stack: Stack
let owner: Api
let repo: string

beforeAll(async () => {
  stack = await startStack({ skipBadSubmit: true })
  owner = await asUser(stack.server.url, 'Owner')
  repo = await makeRepo()
})
afterAll(() => stack?.stop())

async function project(body: Record<string, unknown> = {}): Promise<string> {
  const res = await owner.post('/projects', { name: 'Shop', repo_url: repo, ...body })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.id
}

async function quickTicket(projectId: string): Promise<{ specId: string; spec: any; events: LoggedEvent[] }> {
  const res = await owner.post('/tickets', { project_id: projectId, title: 'Greet politely', description: 'greet with hello' })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const specId: string = res.body.spec_id
  const spec = await waitForStatus(owner, specId, ['completed', 'failed', 'cancelled'], 120_000)
  return { specId, spec, events: await everyEvent(owner, specId) }
}

const feedbacks = (events: LoggedEvent[]) => events.filter((e) => e.type === 'spec.phase_retry').map((e) => String(e.data.feedback))

describe('tasks are verified by the sandbox, not the model', () => {
  it('a task whose agent claims passing tests while the project check fails is not accepted', async () => {
    const projectId = await project({ check_command: 'echo "FAIL greet.test.js: expected hello" >&2; exit 1' })
    const { spec, events } = await quickTicket(projectId)
    expect(spec.status).toBe('failed')
    expect(events.filter((e) => e.type === 'spec.task_completed')).toEqual([])
    // the model said tests.passed: true every time; the check's own output went back to it instead
    const fed = feedbacks(events)
    expect(fed.length).toBeGreaterThan(0)
    expect(fed[0]).toContain('exited with code 1')
    expect(fed[0]).toContain('FAIL greet.test.js: expected hello')
    expect(spec.check_command).toBe('echo "FAIL greet.test.js: expected hello" >&2; exit 1')
  }, 180_000)

  it('a task that changes nothing is not accepted without a reason, and is with one', async () => {
    const projectId = await project()
    stack.model.setScenario({ taskFile: () => null })
    try {
      const without = await quickTicket(projectId)
      expect(without.spec.status).toBe('failed')
      expect(feedbacks(without.events)[0]).toContain('nothing changed in the workspace')

      stack.model.setScenario({ outputs: { complete_task: { summary: 'The README already greets with hello; nothing to change.', no_change_reason: 'README.md already says hello' } } })
      const withReason = await quickTicket(projectId)
      expect(withReason.spec.status).toBe('completed')
    } finally {
      stack.model.setScenario({ taskFile: undefined, outputs: {} })
    }
  }, 240_000)
})

describe('one spec branch with all the work', () => {
  it('only the owner changes a project: PATCH sets the check command', async () => {
    const projectId = await project()
    const stranger = await asUser(stack.server.url, 'Stranger')
    expect((await stranger.request('PATCH', `/projects/${projectId}`, { check_command: 'true' })).status).toBe(404)
    const bad = await owner.request('PATCH', `/projects/${projectId}`, { default_branch: '--force' })
    expect(bad.status).toBe(400)
    expect(bad.body.error.fields).toHaveProperty('default_branch')
    const res = await owner.request('PATCH', `/projects/${projectId}`, { check_command: 'ls omoi-*.txt' })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: projectId, check_command: 'ls omoi-*.txt', default_branch: 'main' })
  })

  it('merges every task into the spec branch, runs the check on it in a check sandbox, and the diff routes answer the real changes', async () => {
    // the check says where it runs and what it sees of the host: its own working copy in a sandbox, not the server's files
    const check = `test -f README.md && ls omoi-*.txt && pwd && echo "sandbox $OMOI_SANDBOX_ID" && ! ls ${JSON.stringify(stack.dataDir)}/delivery`
    const projectId = await project({ check_command: check })
    const launch = await owner.post('/specs/launch', { project_id: projectId, title: 'Due dates', description: 'add due dates' })
    const specId: string = launch.body.spec_id
    const spec = await waitForStatus(owner, specId, ['completed', 'failed'], 180_000)
    const events = await everyEvent(owner, specId)
    expect(spec.status, JSON.stringify(events.filter((e) => /failed/.test(e.type)))).toBe('completed')

    const branch = `omoi/${specId.slice(-10)}/spec`
    const head = await git(repo, 'rev-parse', branch)
    const files = (await git(repo, 'ls-tree', '-r', '--name-only', branch)).split('\n')
    for (const k of ['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004']) expect(files).toContain(`omoi-${k}.txt`)
    const integrated = events.find((e) => e.type === 'spec.integrated')!
    expect(integrated.data).toMatchObject({ branch, commit: head, check: { command: check, exit_code: 0, passed: true } })
    const sandboxId: string = integrated.data.sandbox_id
    expect(integrated.sandbox_id).toBe(sandboxId)
    expect(integrated.data.check.output_tail).toContain(`/sandboxes/${sandboxId}/workspace\nsandbox ${sandboxId}`)
    const checkSandbox = (await sandboxesOf(stack.database.sql, specId)).find((s) => s.id === sandboxId)
    expect(checkSandbox).toMatchObject({ kind: 'check', status: 'ended', end_reason: 'the check finished', token_hash: null })
    expect(spec.delivery).toMatchObject({
      branch,
      base: 'main',
      commit: head,
      check: { command: check, passed: true },
      files_changed: 4,
      insertions: 4,
      deletions: 0,
      pull_request: null,
    })
    // each task's check ran in its sandbox and passed; files_changed is what git saw
    const completed = events.filter((e) => e.type === 'spec.task_completed').map((e) => e.data.task_id)
    expect(completed.sort()).toEqual(['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004'])
    const task = (await owner.get(`/tickets/${(await owner.get('/board')).body.columns.flatMap((c: any) => c.tickets).find((t: any) => t.spec_id === specId).id}`)).body
    expect(task.tasks[0].result).toMatchObject({ files_changed: [`omoi-${task.tasks[0].key}.txt`], check: { passed: true, exit_code: 0 } })

    const diff = await owner.get(`/specs/${specId}/diff`)
    expect(diff.status).toBe(200)
    expect(diff.body).toEqual({
      files: ['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004'].map((k) => ({ path: `omoi-${k}.txt`, status: 'added', additions: 1, deletions: 0 })),
      insertions: 4,
      deletions: 0,
    })
    const one = await owner.get(`/specs/${specId}/diff?task=TSK-002`)
    expect(one.body).toEqual({ files: [{ path: 'omoi-TSK-002.txt', status: 'added', additions: 1, deletions: 0 }], insertions: 1, deletions: 0 })
    const patch = await owner.get(`/specs/${specId}/diff?format=patch&path=omoi-TSK-003.txt`)
    expect(patch.headers.get('content-type')).toMatch(/^text\/x-diff/)
    expect(patch.body).toContain('+++ b/omoi-TSK-003.txt')
    expect(patch.body).toContain('+done by the fake model for TSK-003')
    expect(patch.body).not.toContain('TSK-001')
    // same access as the spec; bad queries are 400s naming the field
    expect((await (await asUser(stack.server.url, 'Stranger')).get(`/specs/${specId}/diff`)).status).toBe(404)
    const bad = await owner.get(`/specs/${specId}/diff?task=nope`)
    expect(bad.status).toBe(400)
    expect(bad.body.error.fields).toHaveProperty('task')
  }, 240_000)

  it('two tasks editing one file are integrated: the merge conflict becomes a fix-up run, never a failed spec', async () => {
    const plan = {
      tickets: [{ id: 'TKT-001', title: 'Greeting', description: 'Say hello in two places of the shop.', priority: 'high', requirements: ['REQ-001', 'REQ-002', 'REQ-003'] }],
      tasks: ['TSK-001', 'TSK-002'].map((id, i) => ({
        id,
        ticket: 'TKT-001',
        title: `Greeting part ${i + 1}`,
        description: `Write part ${i + 1} of the greeting into the shop.`,
        depends_on: [],
        requirements: i === 0 ? ['REQ-001', 'REQ-002'] : ['REQ-003'],
        files: [`part-${i + 1}.txt`],
        estimate_hours: 1,
      })),
    }
    expect(goodRequirements.requirements.map((r) => r.id)).toEqual(['REQ-001', 'REQ-002', 'REQ-003'])
    stack.model.setScenario({ outputs: { submit_tasks: plan }, taskFile: (task) => ({ path: 'greet.txt', content: `hello from ${task}\n` }) })
    try {
      const projectId = await project()
      const launch = await owner.post('/specs/launch', { project_id: projectId, title: 'Greeting', description: 'greet' })
      const specId: string = launch.body.spec_id
      const spec = await waitForStatus(owner, specId, ['completed', 'failed'], 180_000)
      const events = await everyEvent(owner, specId)
      expect(spec.status, JSON.stringify(events.filter((e) => /failed|conflict/.test(e.type)))).toBe('completed')
      const conflict = events.find((e) => e.type === 'spec.merge_conflict')!
      expect(conflict.data).toMatchObject({ files: ['greet.txt'], fixup: 1 })
      // the fix-up run was told which files conflict, and its answer is on the spec branch without markers
      const text = await git(repo, 'show', `${spec.delivery.branch}:greet.txt`)
      expect(text).toMatch(/^hello from TSK-00[12]$/)
      expect(text).not.toMatch(/<<<<<<<|>>>>>>>/)
      expect(stack.gate.requests.some((r) => JSON.stringify(r.body).includes('git conflict markers in greet.txt'))).toBe(true)
    } finally {
      stack.model.setScenario({ outputs: {}, taskFile: undefined })
    }
  }, 240_000)

  it('a check failing on the spec branch gets one fix-up run, then the spec fails with the check output', async () => {
    // passes in every task workspace, fails on the spec branch: no fix-up can make it pass
    const check = 'if git rev-parse --abbrev-ref HEAD | grep -q /spec$; then echo "integration suite: 1 failed"; exit 2; fi'
    const projectId = await project({ check_command: check })
    let run = 0
    stack.model.setScenario({ taskFile: (task) => ({ path: `omoi-${task}.txt`, content: `run ${++run} of ${task}\n` }) })
    try {
      const { spec, events } = await quickTicket(projectId)
      expect(spec.status).toBe('failed')
      const integrated = events.filter((e) => e.type === 'spec.integrated')
      expect(integrated.map((e) => [e.data.check.passed, e.data.check.exit_code])).toEqual([
        [false, 2],
        [false, 2],
      ])
      // the fix-up run of the last merged task worked on the spec branch, told the check's output
      expect(events.filter((e) => e.type === 'spec.task_started').map((e) => e.data.fixup ?? 0)).toEqual([0, 1])
      expect(stack.gate.requests.some((r) => JSON.stringify(r.body).includes('fails on the spec branch'))).toBe(true)
      const failed = events.find((e) => e.type === 'spec.execution_failed')!
      expect(failed.data.error).toContain('integration suite: 1 failed')
      expect(spec.delivery.check).toMatchObject({ command: check, passed: false })
    } finally {
      stack.model.setScenario({ taskFile: undefined })
    }
  }, 240_000)
})
