import { describe, expect, it } from 'vitest'
import { evaluatePhase } from '../../src/actors/evaluators.ts'
import type { Tasks } from '../../src/schemas/phase-outputs.ts'
import { goodRequirements, goodTasks } from '../support/fixtures.ts'

const prior = { requirements: goodRequirements }
const evaluate = (o: unknown) => evaluatePhase('tasks', o, prior)

function tasksWith(change: (plan: Tasks) => void): Tasks {
  const plan = structuredClone(goodTasks)
  change(plan)
  return plan
}

describe('tasks', () => {
  it('fails hard when the requirements phase output is missing', () => {
    const verdict = evaluatePhase('tasks', goodTasks, {})
    expect(verdict.accepted).toBe(false)
    expect(verdict.score).toBe(0)
    expect(verdict.feedback.split('\n').slice(0, 2)).toEqual([
      'Rejected (score 0.00): 1 hard rule failed; the weighted checks alone score 1.00.',
      'Hard rules:',
    ])
    expect(verdict.hard_failures).toEqual([expect.stringMatching(/^requirements phase output is missing/)])
  })

  it('rejects a plan with no tickets and no tasks', () => {
    const verdict = evaluate({ tickets: [], tasks: [] })
    expect(verdict.hard_failures).toEqual([
      'no tickets: plan at least one ticket.',
      'no tasks: plan at least one task.',
      expect.stringContaining('not covered by any task: REQ-001 (Set a due date on a todo), REQ-002'),
    ])
  })

  it('names a dependency cycle', () => {
    const verdict = evaluate(tasksWith((p) => (p.tasks[0]!.depends_on = ['TSK-002'])))
    expect(verdict.accepted).toBe(false)
    expect(verdict.feedback).toContain('- dependency cycle TSK-001 → TSK-002 → TSK-001: remove one of these dependencies.')
  })

  it('rejects a task that depends on itself or on an unknown task', () => {
    const verdict = evaluate(tasksWith((p) => (p.tasks[1]!.depends_on = ['TSK-002', 'TSK-009'])))
    expect(verdict.hard_failures).toEqual([
      'TSK-002 depends on itself: remove TSK-002 from its depends_on.',
      'TSK-002 depends on unknown task TSK-009: depend only on tasks of this plan.',
    ])
  })

  it('rejects unknown tickets, duplicate ids and tickets without tasks', () => {
    const verdict = evaluate(
      tasksWith((p) => {
        p.tasks[3]!.ticket = 'TKT-003'
        p.tasks[2]!.ticket = 'TKT-001'
        p.tasks.push(structuredClone(p.tasks[0]!))
      }),
    )
    expect(verdict.hard_failures).toEqual([
      'duplicate task id TSK-001: give every task its own id.',
      'TSK-004 belongs to unknown ticket "TKT-003": set its ticket to one of TKT-001, TKT-002.',
      'TKT-002 has no tasks: add a task to it or remove it.',
    ])
  })

  it('rejects unknown requirement references and names uncovered requirements', () => {
    const verdict = evaluate(
      tasksWith((p) => {
        p.tickets[0]!.requirements = ['REQ-001', 'REQ-009']
        p.tasks[1]!.requirements = ['REQ-001']
      }),
    )
    expect(verdict.hard_failures).toEqual([
      'TKT-001 references unknown requirement REQ-009: use one of REQ-001, REQ-002, REQ-003.',
      'not covered by any task: REQ-002 (Reject due dates in the past): list each requirement in the requirements of at least one task.',
    ])
  })

  it('names schema issues by dot path', () => {
    const verdict = evaluate(tasksWith((p) => Object.assign(p.tasks[0]!, { estimate_hours: -1, id: 'T1' })))
    expect(verdict.hard_failures.slice(0, 2)).toEqual([
      'tasks.0.id: must look like TSK-001',
      'tasks.0.estimate_hours: must be >=0 (got -1)',
    ])
  })

  it('scores descriptions, estimates, files, requirement links and priorities per item', () => {
    const verdict = evaluate(
      tasksWith((p) => {
        for (const ticket of p.tickets) ticket.priority = 'high'
        p.tasks[0]!.description = 'Migration.'
        p.tasks[1]!.estimate_hours = 0
        p.tasks[2]!.files = []
      }),
    )
    expect(verdict).toMatchObject({ accepted: true, score: 0.77, hard_failures: [] })
    expect(verdict.feedback.split('\n')).toEqual([
      'Accepted (score 0.77).',
      'Soft checks that failed:',
      '- descriptions under 20 characters (TSK-001): say what is to be done and how to tell it is done.',
      '- tasks without a positive estimate_hours (TSK-002): estimate each task in hours.',
      '- tasks that list no files (TSK-003): name the files each task will create or change.',
      '- every ticket has priority "high": rank them (critical, high, medium, low) so what matters most goes first.',
    ])
  })

  it('does not call an 18-character CJK description thin', () => {
    const verdict = evaluate(tasksWith((p) => (p.tasks[0]!.description = '为每个待办事项保存截止日期并校验格式')))
    expect(verdict).toMatchObject({ accepted: true, score: 1 })
  })

  it('accepts a plan where 19 of 20 tasks name files and a requirement, naming the one that does not', () => {
    const plan = tasksWith((p) => {
      const [first] = p.tasks
      p.tasks = Array.from({ length: 20 }, (_, i) => ({
        ...structuredClone(first!),
        id: `TSK-${String(i + 1).padStart(3, '0')}`,
        ticket: i < 10 ? 'TKT-001' : 'TKT-002',
        requirements: [`REQ-00${(i % 3) + 1}`],
      }))
      p.tasks[19]!.files = []
      p.tasks[19]!.requirements = []
    })
    const verdict = evaluate(plan)
    expect(verdict).toMatchObject({ accepted: true, score: 0.98 })
    expect(verdict.feedback).toContain('- tasks that list no files (TSK-020): name the files')
    expect(verdict.feedback).toContain('- tasks that name no requirement (TSK-020): link each task')
  })
})

describe('criterion references', () => {
  it('accepts tasks that reference criteria, and names the criteria no task implements (soft)', () => {
    const verdict = evaluate(
      tasksWith((p) => {
        p.tasks[0]!.requirements = ['REQ-001.1']
        p.tasks[1]!.requirements = ['REQ-001.1', 'REQ-002']
        p.tasks[2]!.requirements = ['REQ-003.1']
        p.tasks[3]!.requirements = ['REQ-003.1']
      }),
    )
    expect(verdict).toMatchObject({ accepted: true, hard_failures: [] })
    expect(verdict.feedback).toContain(
      "- acceptance criteria no task implements (REQ-001.2, REQ-003.2): name each in a task's requirements (as REQ-001.2) or reference its whole requirement.",
    )
  })

  it('rejects a reference to a criterion that does not exist, naming how many there are', () => {
    const verdict = evaluate(tasksWith((p) => (p.tasks[0]!.requirements = ['REQ-001.3'])))
    expect(verdict.hard_failures).toEqual([
      'TSK-001 references unknown criterion REQ-001.3: REQ-001 has 2 acceptance criteria (REQ-001.1 to REQ-001.2).',
    ])
  })

  it('rejects a malformed reference as a schema issue', () => {
    const verdict = evaluate(tasksWith((p) => (p.tasks[0]!.requirements = ['REQ-001.0', 'R1'])))
    expect(verdict.hard_failures).toEqual([
      'tasks.0.requirements.0: must look like REQ-001 (a requirement) or REQ-001.2 (its second acceptance criterion)',
      'tasks.0.requirements.1: must look like REQ-001 (a requirement) or REQ-001.2 (its second acceptance criterion)',
      'TSK-001 references unknown criterion REQ-001.0: REQ-001 has 2 acceptance criteria (REQ-001.1 to REQ-001.2).',
      'TSK-001 references unknown requirement R1: use one of REQ-001, REQ-002, REQ-003.',
    ])
  })
})
