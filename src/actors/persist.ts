import { newUuid } from '../ids.ts'
import { transaction, type Sql } from '../db/connect.ts'
import { assertFence, saveActor, type Fence } from '../db/actors.ts'
import { saveArtifact, type ArtifactKind } from '../db/artifacts.ts'
import { appendEvents } from '../db/events.ts'
import { endUnfinishedPhases, updateSpecState, type SpecRow } from '../db/specs.ts'
import { cancelUnfinishedWork } from '../db/tickets.ts'
import { reportUndelivered } from '../db/messages.ts'
import type { SpecEvent } from '../schemas/events.ts'
import type { AgentPhase } from '../schemas/phase-outputs.ts'
import { describeSnapshot } from './describe.ts'
import type { LogEntry, SpecContext } from './machine-types.ts'
import { ticketStatus, type TaskMap, type TaskState } from './scheduler.ts'

const FINAL: string[] = ['completed', 'failed', 'cancelled']

const ARTIFACT_OF: Record<AgentPhase, ArtifactKind> = {
  explore: 'exploration',
  requirements: 'requirements',
  design: 'design',
  tasks: 'tasks',
}

export interface Transition {
  specId: string
  version: number
  /** The lease this node wrote under: the whole transaction is refused (FencedError) once another node took it. */
  fence: Fence
  persisted: unknown
  context: SpecContext
  value: unknown
  logs: LogEntry[]
  /** The context as last written: what changed since decides which artifact and task rows to write. */
  previous: SpecContext | null
  /** A write that must be committed with this transition or not at all (a keyed command's answer): run last. */
  alongside?: AlongsideWrite<unknown>
}

/**
 * A write made in the transaction of a transition (`persistTransition`), after everything else the transition writes:
 * gets the transaction and the spec row as the transition leaves it, and resolves what it wrote. It throws to refuse
 * the whole transition; it may run again when the transaction is retried after a transient database error.
 */
export type AlongsideWrite<T> = (tx: Sql, spec: SpecRow) => Promise<T>

/** What one transition wrote, for broadcasting after the commit; `alongside`: what the transition's AlongsideWrite resolved. */
export interface WrittenTransition {
  events: SpecEvent[]
  spec: SpecRow
  state: string
  alongside?: unknown
}

/**
 * Writes one transition in ONE transaction: its events (next seqs), the snapshot with its version, the spec row, the
 * artifacts and task/ticket rows that changed, and last the transition's `alongside` write. Returns what was written.
 */
export async function persistTransition(sql: Sql, t: Transition): Promise<WrittenTransition> {
  const d = describeSnapshot({ value: t.value, context: t.context })
  return transaction(sql, async (tx) => {
    await assertFence(tx, t.specId, t.fence)
    const { written } = await appendEvents(
      tx,
      t.specId,
      t.logs.map((l) => ({ id: newUuid(), type: l.event, data: l.data, source: 'system' as const, sandbox_id: l.sandboxId ?? null })),
    )
    await saveActor(tx, { spec_id: t.specId, snapshot: t.persisted, version: t.version, state: d.state, final: d.final, fence: t.fence })
    // a cancelled or failed spec leaves nothing unfinished behind it: phases, tasks and tickets all end with it
    const ending = d.status === 'cancelled' || d.status === 'failed' ? d.status : null
    const phases = ending ? endUnfinishedPhases(d.phases, ending, new Date().toISOString()) : d.phases
    const { previous_status: before, ...spec } = await updateSpecState(tx, t.specId, { status: d.status, current_phase: d.current_phase, phases })
    for (const [phase, version] of Object.entries(t.context.outputVersions) as [AgentPhase, number][]) {
      if (t.previous?.outputVersions[phase] === version) continue
      await saveArtifact(tx, {
        spec_id: t.specId,
        kind: ARTIFACT_OF[phase],
        output: t.context.outputs[phase],
        attempt: t.context.phases[phase].attempt,
        score: t.context.phases[phase].eval_score,
      })
    }
    // when the spec's status changes (a retry after a failure), every task row is written again from the context
    await writeTaskChanges(tx, t, before !== d.status)
    if (ending) await cancelUnfinishedWork(tx, t.specId)
    // no agent comes any more: a message none took is reported, never silently lost
    const unheard = FINAL.includes(d.status) && before !== d.status ? await reportUndelivered(tx, t.specId) : []
    const row = { ...spec, last_seq: unheard.at(-1)?.seq ?? spec.last_seq }
    const alongside = t.alongside ? await t.alongside(tx, row) : undefined
    return { events: [...written, ...unheard], spec: row, state: d.state, alongside }
  })
}

async function writeTaskChanges(tx: Sql, t: Transition, all: boolean): Promise<void> {
  const changed = Object.values(t.context.tasks).filter(
    (task) => all || JSON.stringify(task) !== JSON.stringify(t.previous?.tasks[task.key]),
  )
  await writeTaskRows(tx, t.specId, t.context.tasks, changed)
}

/** Writes the given tasks' rows as the context has them, and the status of their tickets (derived from all tasks). */
export async function writeTaskRows(tx: Sql, specId: string, all: TaskMap, changed: TaskState[]): Promise<void> {
  if (changed.length === 0) return
  for (const task of changed) {
    await tx`update tasks set status = ${task.status}, attempts = ${task.attempt}, branch = coalesce(${task.branch}, branch),
        result = ${task.result ? tx.json(task.result as never) : null}, error = ${task.error}, updated_at = now()
      where spec_id = ${specId} and key = ${task.key}
        and (status <> ${task.status} or attempts <> ${task.attempt} or error is distinct from ${task.error}::text
             or branch is distinct from coalesce(${task.branch}::text, branch) or result is distinct from ${task.result ? tx.json(task.result as never) : null}::jsonb)`
  }
  const tickets = new Set(changed.map((task) => task.ticket))
  for (const ticket of tickets) {
    const status = ticketStatus(Object.values(all).filter((task) => task.ticket === ticket))
    await tx`update tickets set status = ${status}, updated_at = now()
      where spec_id = ${specId} and key = ${ticket} and status <> ${status}`
  }
}
