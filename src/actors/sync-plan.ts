import type { Requirements, Tasks } from '../schemas/phase-outputs.ts'
import { MinHeap } from './min-heap.ts'

/**
 * The pure part of SYNC: check a task plan against the requirements and work out the coverage matrix and an execution order.
 * The server writes tickets and tasks from this; the tasks evaluator applies the same checks through `checkPlan`.
 */

/** One acceptance criterion and the tasks that implement it (naming it, or its whole requirement). */
export interface CriterionCoverage {
  /** `REQ-001.2`: the requirement's id and the criterion's 1-based position. */
  id: string
  text: string
  tasks: string[]
}

/** One requirement and the tasks that implement it or any of its criteria. */
export interface RequirementCoverage {
  requirement: string
  title: string
  tasks: string[]
  criteria: CriterionCoverage[]
}

export interface SyncPlan {
  ok: boolean
  errors: string[]
  coverage: RequirementCoverage[]
  /** Task ids in a valid topological order (dependencies first), ties by id; empty when the graph has a cycle. */
  order: string[]
  /** Requirements no task implements (a hard failure). */
  uncovered: string[]
  /** Criteria no task implements, e.g. `REQ-001.2` (reported, not a failure). */
  uncovered_criteria: string[]
  cycles: string[][]
}

export interface GraphNode {
  id: string
  depends_on: string[]
}

/** Numeric-aware, so TSK-999 sorts before TSK-1000. */
export const byId = new Intl.Collator('en', { numeric: true }).compare

export function planSync(requirements: Requirements, tasks: Tasks): SyncPlan {
  const errors = checkPlan(tasks, requirements)
  const coverage = coverageOf(requirements, tasks)
  const cycles = findCycles(tasks.tasks)
  return {
    ok: errors.length === 0,
    errors,
    coverage,
    order: cycles.length === 0 ? topologicalOrder(tasks.tasks) : [],
    uncovered: coverage.filter((row) => row.tasks.length === 0).map((row) => row.requirement),
    uncovered_criteria: uncoveredCriteria(coverage),
    cycles,
  }
}

/**
 * Every structural problem of a plan, each phrased as what to fix. Without `requirements` the requirement references and
 * coverage are not checked (the caller reports that they are missing).
 */
export function checkPlan(plan: Tasks, requirements: Requirements | undefined): string[] {
  const errors: string[] = []
  if (plan.tickets.length === 0) errors.push('no tickets: plan at least one ticket.')
  if (plan.tasks.length === 0) errors.push('no tasks: plan at least one task.')
  for (const id of duplicates(plan.tickets.map((t) => t.id))) errors.push(`duplicate ticket id ${id}: give every ticket its own id.`)
  for (const id of duplicates(plan.tasks.map((t) => t.id))) errors.push(`duplicate task id ${id}: give every task its own id.`)

  const ticketIds = new Set(plan.tickets.map((t) => t.id))
  const taskIds = new Set(plan.tasks.map((t) => t.id))
  for (const task of plan.tasks) {
    if (!ticketIds.has(task.ticket)) {
      errors.push(`${task.id} belongs to unknown ticket "${task.ticket}": set its ticket to one of ${[...ticketIds].join(', ')}.`)
    }
    for (const dep of task.depends_on) {
      if (dep === task.id) errors.push(`${task.id} depends on itself: remove ${dep} from its depends_on.`)
      else if (!taskIds.has(dep)) errors.push(`${task.id} depends on unknown task ${dep}: depend only on tasks of this plan.`)
    }
  }
  for (const ticket of plan.tickets) {
    if (!plan.tasks.some((task) => task.ticket === ticket.id)) errors.push(`${ticket.id} has no tasks: add a task to it or remove it.`)
  }
  // A self-loop is already reported above as "depends on itself".
  for (const cycle of findCycles(plan.tasks).filter((c) => c.length > 2)) {
    errors.push(`dependency cycle ${cycle.join(' → ')}: remove one of these dependencies.`)
  }
  if (requirements) errors.push(...requirementErrors(plan, requirements))
  return errors
}

function requirementErrors(plan: Tasks, requirements: Requirements): string[] {
  const errors: string[] = []
  const known = requirements.requirements.map((r) => r.id)
  for (const item of [...plan.tickets, ...plan.tasks]) {
    for (const ref of item.requirements) {
      const { requirement, criterion } = parseRef(ref)
      const target = requirements.requirements.find((r) => r.id === requirement)
      if (!target) errors.push(`${item.id} references unknown requirement ${ref}: use one of ${known.join(', ')}.`)
      else if (criterion !== null && !(criterion >= 1 && criterion <= target.acceptance_criteria.length)) {
        const count = target.acceptance_criteria.length
        errors.push(
          `${item.id} references unknown criterion ${ref}: ${requirement} has ${count} acceptance ` +
            `${count === 1 ? 'criterion' : 'criteria'} (${requirement}.1${count > 1 ? ` to ${requirement}.${count}` : ''}).`,
        )
      }
    }
  }
  const uncovered = coverageOf(requirements, plan).filter((row) => row.tasks.length === 0)
  if (uncovered.length > 0) {
    const names = uncovered.map((row) => `${row.requirement} (${row.title})`).join(', ')
    errors.push(`not covered by any task: ${names}: list each requirement in the requirements of at least one task.`)
  }
  return errors
}

/** Split a reference into its requirement id and 1-based criterion number (null for the whole requirement). */
export function parseRef(ref: string): { requirement: string; criterion: number | null } {
  const dot = ref.indexOf('.')
  return dot < 0 ? { requirement: ref, criterion: null } : { requirement: ref.slice(0, dot), criterion: Number(ref.slice(dot + 1)) }
}

/** The coverage matrix: per requirement the tasks naming it or any of its criteria, and per criterion its tasks. */
export function coverageOf(requirements: Requirements, plan: Tasks): RequirementCoverage[] {
  return requirements.requirements.map((r) => {
    const refs = plan.tasks.map((task) => ({ id: task.id, refs: task.requirements.map(parseRef).filter((p) => p.requirement === r.id) }))
    return {
      requirement: r.id,
      title: r.title,
      tasks: refs.filter((t) => t.refs.length > 0).map((t) => t.id).sort(byId),
      criteria: r.acceptance_criteria.map((text, i) => ({
        id: `${r.id}.${i + 1}`,
        text,
        tasks: refs
          .filter((t) => t.refs.some((p) => p.criterion === null || p.criterion === i + 1))
          .map((t) => t.id)
          .sort(byId),
      })),
    }
  })
}

/** The criteria of a coverage matrix that no task implements. */
export function uncoveredCriteria(coverage: RequirementCoverage[]): string[] {
  return coverage.flatMap((row) => row.criteria.filter((c) => c.tasks.length === 0).map((c) => c.id))
}

/** The ids that occur more than once, each once. */
export function duplicates(ids: string[]): string[] {
  return [...new Set(ids.filter((id, index) => ids.indexOf(id) !== index))]
}

/**
 * One dependency cycle as a closed path, e.g. `['TSK-001', 'TSK-002', 'TSK-001']` (TSK-001 depends on TSK-002, which
 * depends on TSK-001), or null. Dependencies on unknown ids are ignored. Deterministic: nodes are visited by id.
 */
export function findCycle(nodes: GraphNode[]): string[] | null {
  const graph = toGraph(nodes)
  const state = new Map<string, 'open' | 'done'>()
  for (const root of graph.keys()) {
    if (state.has(root)) continue
    // depth first with a stack of its own, not the call stack: a chain of thousands of tasks is a long path
    const path = [root]
    const nextDep = [0]
    state.set(root, 'open')
    while (path.length > 0) {
      const id = path.at(-1)!
      const deps = graph.get(id) ?? []
      const i = nextDep[nextDep.length - 1]!
      if (i === deps.length) {
        state.set(id, 'done')
        path.pop()
        nextDep.pop()
        continue
      }
      nextDep[nextDep.length - 1] = i + 1
      const dep = deps[i]!
      if (state.get(dep) === 'open') return [...path.slice(path.indexOf(dep)), dep]
      if (!state.has(dep)) {
        state.set(dep, 'open')
        path.push(dep)
        nextDep.push(0)
      }
    }
  }
  return null
}

/** Disjoint cycles: find one, drop its nodes, repeat. Enough to name every knot without enumerating all cycles. */
function findCycles(nodes: GraphNode[]): string[][] {
  const cycles: string[][] = []
  let rest = nodes
  for (let cycle = findCycle(rest); cycle; cycle = findCycle(rest)) {
    cycles.push(cycle)
    const drop = new Set(cycle)
    rest = rest.filter((node) => !drop.has(node.id))
  }
  return cycles
}

/** Ids with dependencies before dependents; among those ready at once, the lowest id first. Throws on a cycle. */
export function topologicalOrder(nodes: GraphNode[]): string[] {
  const graph = toGraph(nodes)
  // ids in byId order, so that an id's rank (its index) orders the ready ones
  const ids = [...graph.keys()]
  const rank = new Map(ids.map((id, i) => [id, i]))
  const waitingOn = ids.map((id) => graph.get(id)!.length)
  const dependents = ids.map((): number[] => [])
  ids.forEach((id, i) => graph.get(id)!.forEach((dep) => dependents[rank.get(dep)!]!.push(i)))
  const ready = new MinHeap(ids.flatMap((_, i) => (waitingOn[i] === 0 ? [i] : [])))
  const order: string[] = []
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    order.push(ids[i]!)
    for (const d of dependents[i]!) if (--waitingOn[d]! === 0) ready.push(d)
  }
  if (order.length < ids.length) throw new Error(`dependency cycle: ${(findCycle(nodes) ?? []).join(' → ')}`)
  return order
}

/** id → known dependencies, ids in order; duplicate nodes merge their dependencies. */
function toGraph(nodes: GraphNode[]): Map<string, string[]> {
  const ids = new Set(nodes.map((node) => node.id))
  const deps = new Map<string, Set<string>>([...ids].sort(byId).map((id) => [id, new Set<string>()]))
  for (const node of nodes) {
    for (const dep of node.depends_on) if (ids.has(dep)) deps.get(node.id)!.add(dep)
  }
  return new Map([...deps].map(([id, set]) => [id, [...set].sort(byId)]))
}
