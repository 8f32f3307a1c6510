import { readFile, writeFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import { waitForStatus } from '../support/omoi.ts'
import { git, makeRepo } from '../support/repo.ts'
import { everyEvent, startStack, type Stack } from '../support/stack.ts'
import { newId } from '../../src/ids.ts'
import { join } from 'node:path'

/**
 * Specs an omoi from before one spec branch per spec persisted while executing (fixture: snapshots its machine wrote,
 * two quick tasks, TSK-001 completed on its own branch, TSK-002 running) are restored after the upgrade: the spec
 * branch is made, TSK-001's work is merged into it, TSK-002 runs on, and the spec completes with all the work.
 */
let stack: Stack
let owner: Api
let repo: string
let projectId: string

beforeAll(async () => {
  stack = await startStack({ skipBadSubmit: true })
  owner = await asUser(stack.server.url, 'Owner')
  repo = await makeRepo()
  projectId = (await owner.post('/projects', { name: 'Shop', repo_url: repo, check_command: 'test -f README.md' })).body.id
})
afterAll(() => stack?.stop())

/** A spec as the old omoi left it: its rows, TSK-001's work pushed to its task branch, and the persisted snapshot. */
async function oldSpec(which: 'mid' | 'paused'): Promise<string> {
  const specId = newId('spec')
  const branch = `omoi/${specId.slice(-10)}/TSK-001`
  await git(repo, 'checkout', '-q', '-b', branch, 'main')
  await writeFile(join(repo, 'omoi-TSK-001.txt'), 'done before the upgrade\n')
  await git(repo, 'add', '-A')
  await git(repo, 'commit', '-q', '-m', 'omoi: TSK-001 First')
  const commit = await git(repo, 'rev-parse', 'HEAD')
  await git(repo, 'checkout', '-q', 'main')

  const fixture = await readFile(new URL('../fixtures/snapshots/before-spec-branch.json', import.meta.url), 'utf8')
  const snapshot = JSON.parse(
    fixture.replaceAll('spec_OLDSHAPE01', specId).replaceAll('OLDSHAPE01', specId.slice(-10)).replaceAll('COMMIT_OF_TSK_001', commit),
  )[which]
  const sql = stack.database.sql
  const status = which === 'mid' ? 'executing' : 'paused'
  const userId = owner.user!.id
  await sql`insert into specs (id, project_id, user_id, title, description, status, current_phase, kind)
    values (${specId}, ${projectId}, ${userId}, 'Greet', 'greet politely', ${status}, 'execute', 'quick')`
  const ticketId = newId('tkt')
  await sql`insert into tickets (id, spec_id, user_id, project_id, key, title, description, status)
    values (${ticketId}, ${specId}, ${userId}, ${projectId}, 'TKT-001', 'Greet', 'greet politely', 'building')`
  await sql`insert into tasks (id, spec_id, ticket_id, key, title, description, status, attempts, branch, result)
    values (${newId('tsk')}, ${specId}, ${ticketId}, 'TSK-001', 'First', 'first', 'completed', 1, ${branch},
            ${sql.json(snapshot.context.tasks['TSK-001'].result)}),
           (${newId('tsk')}, ${specId}, ${ticketId}, 'TSK-002', 'Second', 'second', 'running', 1, null, null)`
  await sql`insert into spec_actors (spec_id, snapshot, version, state, final)
    values (${specId}, ${sql.json(snapshot)}, 5, ${which === 'mid' ? 'active.execute' : 'paused'}, false)`
  return specId
}

async function expectAllWorkDelivered(specId: string) {
  const spec = await waitForStatus(owner, specId, ['completed', 'failed', 'cancelled'], 120_000)
  const events = await everyEvent(owner, specId)
  expect(spec.status, JSON.stringify(events.filter((e) => /failed|error/.test(e.type)))).toBe('completed')
  const specBranch = `omoi/${specId.slice(-10)}/spec`
  const files = (await git(repo, 'ls-tree', '-r', '--name-only', specBranch)).split('\n')
  expect(files).toEqual(expect.arrayContaining(['README.md', 'omoi-TSK-001.txt', 'omoi-TSK-002.txt']))
  const completed = events.filter((e) => e.type === 'spec.task_completed').map((e) => e.data.task_id)
  expect(completed).toContain('TSK-001')
  expect(events.find((e) => e.type === 'spec.integrated')!.data).toMatchObject({ branch: specBranch, check: { passed: true } })
  expect(spec.delivery).toMatchObject({ branch: specBranch, files_changed: 2 })
}

describe('a spec persisted mid-execution before one spec branch per spec', () => {
  it('is restored into the new execute state: its spec branch is made and gathers the work done before and after', async () => {
    let specId = ''
    await stack.restart({}, async () => {
      specId = await oldSpec('mid')
    })
    await expectAllWorkDelivered(specId)
  }, 180_000)

  it('paused then, resumes into the new execute state with the same outcome', async () => {
    let specId = ''
    await stack.restart({}, async () => {
      specId = await oldSpec('paused')
    })
    expect((await owner.get(`/specs/${specId}`)).body.status).toBe('paused')
    expect((await owner.post(`/specs/${specId}/resume`)).status).toBe(200)
    await expectAllWorkDelivered(specId)
  }, 180_000)
})
