import { describe, expect, it } from 'vitest'
import { repoCoordinates } from '../../src/actors/forge.ts'
import { pullRequestBody } from '../../src/actors/pr-body.ts'
import { newTask, schedule, type TaskMap } from '../../src/actors/scheduler.ts'
import { tailCodePoints } from '../../src/sandbox/worker/check.ts'
import { goodRequirements } from '../support/fixtures.ts'

describe('the pull request body', () => {
  it('lists requirements with their criteria as a checklist, the tasks, and the check', () => {
    const body = pullRequestBody({
      description: 'Add due dates.',
      requirements: goodRequirements,
      tasks: [{ key: 'TSK-001', title: 'Add the due_at column' }],
      check: { command: 'npm test', exit_code: 0, passed: true, duration_ms: 2500, output_tail: '' },
    })
    expect(body).toContain('### REQ-001 Set a due date on a todo')
    expect(body).toContain('- [ ] PATCH /todos/:id with due_at returns the todo with due_at')
    expect(body).toContain('- TSK-001 Add the due_at column')
    expect(body).toContain('`npm test` passed in 2.5 s on the spec branch.')
    expect(pullRequestBody({ description: 'x', requirements: null, tasks: [], check: null })).toContain('No check command is set')
  })
})

describe('repository coordinates', () => {
  it.each([
    ['https://github.com/acme/shop.git', 'acme', 'shop'],
    ['git@github.com:acme/shop.git', 'acme', 'shop'],
    ['/srv/git/acme/shop', 'acme', 'shop'],
  ])('%s', (url, owner, repo) => expect(repoCoordinates(url)).toEqual({ owner, repo }))
})

describe('the scheduler and declared files', () => {
  it('never runs two tasks at once whose files overlap', () => {
    const tasks: TaskMap = {
      'TSK-001': newTask({ key: 'TSK-001', ticket: 'T', title: 'a', depends_on: [], files: ['src/greet.js', 'a.js'] }),
      'TSK-002': newTask({ key: 'TSK-002', ticket: 'T', title: 'b', depends_on: [], files: ['src/greet.js'] }),
      'TSK-003': newTask({ key: 'TSK-003', ticket: 'T', title: 'c', depends_on: [], files: ['c.js'] }),
    }
    const { tasks: next, started } = schedule(tasks, 3, 0, 1000)
    expect(started.map((t) => t.key)).toEqual(['TSK-001', 'TSK-003'])
    expect(next['TSK-002']!.status).toBe('queued')
    const after = schedule({ ...next, 'TSK-001': { ...next['TSK-001']!, status: 'completed' } }, 3, 0, 1000)
    expect(after.started.map((t) => t.key)).toEqual(['TSK-002'])
  })
})

describe('the check output tail', () => {
  it('is cut on code points, never inside a character', () => {
    expect(tailCodePoints('ab😀c', 2)).toBe('😀c')
    expect(tailCodePoints('\uDE00xyz', 10)).toBe('xyz')
  })
})
