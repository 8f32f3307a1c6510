import { describe, expect, it } from 'vitest'
import { findCycle, planSync, topologicalOrder } from '../../src/actors/sync-plan.ts'
import type { Tasks } from '../../src/schemas/phase-outputs.ts'
import { goodRequirements, goodTasks } from '../support/fixtures.ts'

const node = (id: string, ...depends_on: string[]) => ({ id, depends_on })

function tasksWith(change: (plan: Tasks) => void): Tasks {
  const plan = structuredClone(goodTasks)
  change(plan)
  return plan
}

describe('findCycle', () => {
  it('finds nothing in an acyclic graph and ignores unknown dependencies', () => {
    expect(findCycle([node('A'), node('B', 'A'), node('C', 'A', 'B', 'Z')])).toBeNull()
    expect(findCycle([])).toBeNull()
  })

  it('finds a self-loop', () => {
    expect(findCycle([node('A'), node('B', 'B')])).toEqual(['B', 'B'])
  })

  it('finds a 2-cycle', () => {
    expect(findCycle([node('A', 'B'), node('B', 'A')])).toEqual(['A', 'B', 'A'])
  })

  it('finds a longer cycle behind an acyclic lead-in, as a closed path without the lead-in', () => {
    const nodes = [node('A', 'B'), node('B', 'C'), node('C', 'D'), node('D', 'E'), node('E', 'C')]
    expect(findCycle(nodes)).toEqual(['C', 'D', 'E', 'C'])
  })

  it('follows a chain of 20,000 tasks without running out of stack, and finds the cycle that closes it', () => {
    const id = (i: number) => `TSK-${String(i).padStart(5, '0')}`
    // each task depends on the next one, so the search from the first walks the whole chain
    const chain = Array.from({ length: 20_000 }, (_, i) => node(id(i), ...(i + 1 < 20_000 ? [id(i + 1)] : [])))
    expect(findCycle(chain)).toBeNull()
    expect(topologicalOrder(chain).at(0)).toBe(id(19_999))
    chain[19_999] = node(id(19_999), id(19_998))
    expect(findCycle(chain)).toEqual([id(19_998), id(19_999), id(19_998)])
  })
})

describe('topologicalOrder', () => {
  it('orders a diamond dependencies first', () => {
    expect(topologicalOrder([node('D', 'B', 'C'), node('C', 'A'), node('B', 'A'), node('A')])).toEqual(['A', 'B', 'C', 'D'])
  })

  it('breaks ties by id, numerically', () => {
    const nodes = [node('TSK-1000'), node('TSK-999'), node('TSK-010'), node('TSK-002', 'TSK-1000')]
    expect(topologicalOrder(nodes)).toEqual(['TSK-010', 'TSK-999', 'TSK-1000', 'TSK-002'])
  })

  it('throws naming the cycle', () => {
    expect(() => topologicalOrder([node('A', 'B'), node('B', 'A'), node('C')])).toThrow('dependency cycle: A → B → A')
  })
})

describe('planSync', () => {
  it('accepts the good plan with its coverage matrix and execution order', () => {
    const plan = planSync(goodRequirements, goodTasks)
    expect(plan).toEqual({
      ok: true,
      errors: [],
      coverage: [
        {
          requirement: 'REQ-001',
          title: 'Set a due date on a todo',
          tasks: ['TSK-001', 'TSK-002'],
          criteria: [
            { id: 'REQ-001.1', text: 'PATCH /todos/:id with due_at returns the todo with due_at', tasks: ['TSK-001', 'TSK-002'] },
            { id: 'REQ-001.2', text: 'GET /todos/:id returns the stored due_at', tasks: ['TSK-001', 'TSK-002'] },
          ],
        },
        {
          requirement: 'REQ-002',
          title: 'Reject due dates in the past',
          tasks: ['TSK-002'],
          criteria: [
            { id: 'REQ-002.1', text: 'a due_at before now answers 400 invalid_body', tasks: ['TSK-002'] },
            { id: 'REQ-002.2', text: 'the todo is left unchanged', tasks: ['TSK-002'] },
          ],
        },
        {
          requirement: 'REQ-003',
          title: 'Remind before the due date',
          tasks: ['TSK-003', 'TSK-004'],
          criteria: [
            { id: 'REQ-003.1', text: 'an open todo due in 30 minutes produces one reminder', tasks: ['TSK-003', 'TSK-004'] },
            { id: 'REQ-003.2', text: 'a completed todo produces none', tasks: ['TSK-003', 'TSK-004'] },
          ],
        },
      ],
      order: ['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004'],
      uncovered: [],
      uncovered_criteria: [],
      cycles: [],
    })
  })

  it('names an uncovered requirement', () => {
    const plan = planSync(
      goodRequirements,
      tasksWith((p) => {
        for (const task of p.tasks) task.requirements = task.requirements.filter((r) => r !== 'REQ-002')
      }),
    )
    expect(plan.ok).toBe(false)
    expect(plan.uncovered).toEqual(['REQ-002'])
    expect(plan.coverage[1]).toMatchObject({ requirement: 'REQ-002', title: 'Reject due dates in the past', tasks: [] })
    expect(plan.uncovered_criteria).toEqual(['REQ-002.1', 'REQ-002.2'])
    expect(plan.errors).toEqual([expect.stringContaining('not covered by any task: REQ-002 (Reject due dates in the past)')])
  })

  it('covers criteria one by one: a task naming REQ-001.2 covers that criterion and its requirement, not REQ-001.1', () => {
    const plan = planSync(
      goodRequirements,
      tasksWith((p) => {
        p.tasks[0]!.requirements = ['REQ-001.2']
        p.tasks[1]!.requirements = ['REQ-002']
        p.tickets[0]!.requirements = ['REQ-001.2', 'REQ-002']
      }),
    )
    expect(plan.ok).toBe(true)
    expect(plan.coverage[0]).toEqual({
      requirement: 'REQ-001',
      title: 'Set a due date on a todo',
      tasks: ['TSK-001'],
      criteria: [
        { id: 'REQ-001.1', text: 'PATCH /todos/:id with due_at returns the todo with due_at', tasks: [] },
        { id: 'REQ-001.2', text: 'GET /todos/:id returns the stored due_at', tasks: ['TSK-001'] },
      ],
    })
    expect(plan.uncovered_criteria).toEqual(['REQ-001.1'])
  })

  it('names unknown tickets, tasks and requirements', () => {
    const plan = planSync(
      goodRequirements,
      tasksWith((p) => {
        p.tickets[1]!.requirements.push('REQ-404')
        p.tasks[1]!.ticket = 'TKT-009'
        p.tasks[2]!.depends_on.push('TSK-404')
        p.tasks[3]!.requirements.push('REQ-405')
      }),
    )
    expect(plan.ok).toBe(false)
    expect(plan.errors).toEqual([
      'TSK-002 belongs to unknown ticket "TKT-009": set its ticket to one of TKT-001, TKT-002.',
      'TSK-003 depends on unknown task TSK-404: depend only on tasks of this plan.',
      'TKT-002 references unknown requirement REQ-404: use one of REQ-001, REQ-002, REQ-003.',
      'TSK-004 references unknown requirement REQ-405: use one of REQ-001, REQ-002, REQ-003.',
    ])
    // Unknown references do not stop the graph from being ordered.
    expect(plan.order).toEqual(['TSK-001', 'TSK-002', 'TSK-003', 'TSK-004'])
  })

  it('reports every disjoint cycle and gives no order', () => {
    const plan = planSync(
      goodRequirements,
      tasksWith((p) => {
        p.tasks[0]!.depends_on = ['TSK-004'] // TSK-001 → TSK-004 → TSK-002 → TSK-001
        p.tasks.push({ ...structuredClone(p.tasks[2]!), id: 'TSK-005', depends_on: ['TSK-005'] })
      }),
    )
    expect(plan.ok).toBe(false)
    expect(plan.order).toEqual([])
    expect(plan.cycles).toEqual([
      ['TSK-001', 'TSK-004', 'TSK-002', 'TSK-001'],
      ['TSK-005', 'TSK-005'],
    ])
    expect(plan.errors).toEqual([
      'TSK-005 depends on itself: remove TSK-005 from its depends_on.',
      'dependency cycle TSK-001 → TSK-004 → TSK-002 → TSK-001: remove one of these dependencies.',
    ])
  })

  it('rejects duplicate ids and tickets without tasks', () => {
    const plan = planSync(
      goodRequirements,
      tasksWith((p) => {
        p.tickets.push({ ...structuredClone(p.tickets[0]!), id: 'TKT-003' }, structuredClone(p.tickets[0]!))
        p.tasks.push(structuredClone(p.tasks[2]!))
      }),
    )
    expect(plan.errors).toEqual([
      'duplicate ticket id TKT-001: give every ticket its own id.',
      'duplicate task id TSK-003: give every task its own id.',
      'TKT-003 has no tasks: add a task to it or remove it.',
    ])
  })
})
