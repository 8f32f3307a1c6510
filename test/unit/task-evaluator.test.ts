import { describe, expect, it } from 'vitest'
import { evaluateTask } from '../../src/actors/task-evaluator.ts'
import { goodTaskReport } from '../support/fixtures.ts'

const task = { id: 'TSK-001', title: 'Add the due_at column' }

describe('the task evaluator judges what the sandbox saw', () => {
  it('accepts a passing check with changed files', () => {
    expect(evaluateTask(goodTaskReport, task)).toEqual({ accepted: true, score: 1, feedback: 'Accepted (score 1.00).', hard_failures: [] })
  })

  it('rejects a failing check whatever the model says, with the check output in the feedback', () => {
    const failing = { ...goodTaskReport, tests: { passed: true }, check: { ...goodTaskReport.check!, exit_code: 1, passed: false, output_tail: 'FAIL test/a.test.ts\n1 failed' } }
    const verdict = evaluateTask(failing, task)
    expect(verdict.accepted).toBe(false)
    expect(verdict.feedback).toContain('the check `npm test` exited with code 1')
    expect(verdict.feedback).toContain('FAIL test/a.test.ts\n1 failed')
  })

  it('names a check stopped at its time limit', () => {
    const killed = { ...goodTaskReport, check: { ...goodTaskReport.check!, exit_code: null, passed: false } }
    expect(evaluateTask(killed, task).feedback).toContain('was stopped at its time limit')
  })

  it('rejects a task that changed nothing unless it says why', () => {
    const nothing = { ...goodTaskReport, files_changed: [] }
    expect(evaluateTask(nothing, task).accepted).toBe(false)
    expect(evaluateTask(nothing, task).hard_failures).toEqual([
      'nothing changed in the workspace: make the change, or give no_change_reason if the task truly needs none.',
    ])
    expect(evaluateTask({ ...nothing, no_change_reason: 'the column already exists in sql/001_init.sql' }, task).accepted).toBe(true)
  })

  it('without a check command accepts a non-empty diff', () => {
    expect(evaluateTask({ ...goodTaskReport, check: null }, task).accepted).toBe(true)
    expect(evaluateTask({ ...goodTaskReport, check: null, files_changed: [] }, task).accepted).toBe(false)
  })

  it('rejects while conflict markers remain', () => {
    const verdict = evaluateTask({ ...goodTaskReport, conflict_markers: ['src/greet.js'] }, task)
    expect(verdict.accepted).toBe(false)
    expect(verdict.feedback).toContain('conflict markers remain in src/greet.js')
  })

  it('rejects a result without what the sandbox saw (a model cannot post one)', () => {
    const verdict = evaluateTask({ summary: 'I did it all and the tests passed, trust me.' }, task)
    expect(verdict.accepted).toBe(false)
    expect(verdict.hard_failures).toContain('files_changed: must be an array (it is missing)')
  })
})
