import { prepareInput } from './execute-state.ts'
import type { SpecContext } from './machine-types.ts'
import type { TaskMap } from './scheduler.ts'
import { specMachine } from './spec-machine.ts'

type Persisted = { value?: unknown; context?: unknown; children?: Record<string, unknown> }

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)

/** Where the invoked `deliveryPrepare` of the `preparing` state is kept among the snapshot's children. */
const prepareChildId = () => specMachine.getStateNodeById('spec.active.execute.preparing').invoke[0]!.id

/** Tasks an older omoi completed on their own branch: each now waits to be merged into the spec branch, with its commit. */
function carriedTasks(tasks: TaskMap): TaskMap {
  const carried: TaskMap = {}
  for (const t of Object.values(tasks)) {
    const commit = t.result?.commit
    if (t.status !== 'completed' || typeof commit !== 'string') continue
    const branch = typeof t.result?.branch === 'string' ? t.result.branch : t.branch
    carried[t.key] = { ...t, status: 'running', stage: 'merging', commit, branch, fixup: 0 }
  }
  return carried
}

/**
 * Restores a snapshot that an omoi from before one spec branch per spec (issue 17) persisted. Its execute state was a
 * leaf (`{active: 'execute'}`) whose only children were the task runners, and a task was completed on its own branch
 * as soon as it was accepted. Such a spec goes on as execution does now: it starts again at `preparing` (with that
 * state's invoked child, so the spec branch is made), every task completed on its own branch waits as `merging` and is
 * merged into the spec branch first, and the running tasks' runners are spawned anew once execution runs (re-attaching
 * to their live sandboxes). A paused or failed spec gets the same tasks and enters `preparing` when resumed or
 * retried. Plain JSON in and out; any other snapshot is answered as it is.
 */
export function migrateSnapshot(persisted: unknown): unknown {
  if (!isObject(persisted) || !isObject(persisted.context)) return persisted
  const old = persisted as Persisted & { context: SpecContext }
  const leaf = isObject(old.value) && old.value.active === 'execute'
  const carried = old.context.delivery == null ? carriedTasks(old.context.tasks ?? {}) : {}
  if (!leaf && Object.keys(carried).length === 0) return persisted
  const context: SpecContext = { ...old.context, tasks: { ...old.context.tasks, ...carried } }
  if (!leaf) return { ...old, context }
  const children = Object.fromEntries(Object.entries(old.children ?? {}).filter(([id]) => !id.startsWith('task:')))
  children[prepareChildId()] = { src: 'deliveryPrepare', snapshot: { status: 'active', input: prepareInput(context) }, syncSnapshot: false }
  return { ...old, value: { ...(old.value as object), active: { execute: 'preparing' } }, context, children }
}
