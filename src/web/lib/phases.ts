import type { PhaseRecord, Spec, SpecEvent, SpecPhase } from '../types.ts'

/** Every value of `current_phase`, in the order a spec goes through them. */
export const PHASES = ['explore', 'requirements', 'design', 'tasks', 'sync', 'execute', 'done'] as const satisfies readonly SpecPhase[]

export const PHASE_LABELS: Record<SpecPhase, string> = {
  explore: 'Explore',
  requirements: 'Requirements',
  design: 'Design',
  tasks: 'Tasks',
  sync: 'Sync',
  execute: 'Execute',
  done: 'Done',
}

export type StepState = 'done' | 'current' | 'awaiting' | 'paused' | 'failed' | 'cancelled' | 'pending'

export interface Step {
  phase: SpecPhase
  label: string
  state: StepState
  /** The step the spec is at now (for `aria-current`). */
  current: boolean
  attempts: number
  evalScore: number | null
  /** Why attempts were rejected or the phase failed, oldest first. */
  failures: string[]
  startedAt: string | null
  endedAt: string | null
}

type SpecLike = Pick<Spec, 'status' | 'current_phase' | 'phases'>

function text(value: unknown): string | null {
  if (typeof value === 'string' && value.trim()) return value.trim()
  if (value && typeof value === 'object' && 'message' in value && typeof value.message === 'string') return value.message
  return null
}

function currentState(status: Spec['status']): StepState {
  switch (status) {
    case 'completed':
      return 'done'
    case 'failed':
      return 'failed'
    case 'cancelled':
      return 'cancelled'
    case 'paused':
      return 'paused'
    case 'awaiting_approval':
      return 'awaiting'
    case 'draft':
      return 'pending'
    case 'executing':
      return 'current'
  }
}

/**
 * The phase stepper's model: one step per phase, its state from where the spec is, attempts and score from the spec's
 * `phases` records (falling back to the event log), failures from `spec.phase_retry` / `spec.phase_failed` /
 * `spec.execution_failed` events.
 */
export function buildSteps(spec: SpecLike, events: readonly SpecEvent[] = []): Step[] {
  const index = Math.max(0, PHASES.indexOf(spec.current_phase))
  const records = new Map<string, PhaseRecord>()
  for (const r of spec.phases ?? []) records.set(r.phase, r) // the last record of a phase wins

  const failures = new Map<string, string[]>()
  const startedCount = new Map<string, number>()
  const lastScore = new Map<string, number>()
  for (const e of events) {
    const phase = typeof e.data?.phase === 'string' ? e.data.phase : null
    if (!phase) continue
    const add = (line: string) => failures.set(phase, [...(failures.get(phase) ?? []), line])
    if (e.type === 'spec.phase_started') startedCount.set(phase, (startedCount.get(phase) ?? 0) + 1)
    else if (e.type === 'spec.phase_completed' && typeof e.data.eval_score === 'number') lastScore.set(phase, e.data.eval_score)
    else if (e.type === 'spec.phase_retry') {
      const attempt = typeof e.data.attempt === 'number' ? `Attempt ${e.data.attempt}` : 'Attempt'
      add(`${attempt} rejected: ${text(e.data.feedback) ?? 'no feedback given'}`)
    } else if (e.type === 'spec.phase_failed') add(`Failed: ${text(e.data.error) ?? text(e.data.feedback) ?? 'no reason given'}`)
    else if (e.type === 'spec.execution_failed') add(`Execution failed: ${text(e.data.error) ?? 'no reason given'}`)
  }

  return PHASES.map((phase, i) => {
    const record = records.get(phase)
    let state: StepState
    if (spec.status === 'completed') state = 'done'
    else if (i < index) state = 'done'
    else if (i > index) state = 'pending'
    else state = currentState(spec.status)
    return {
      phase,
      label: PHASE_LABELS[phase],
      state,
      current: i === index,
      attempts: record?.attempts ?? startedCount.get(phase) ?? 0,
      evalScore: record?.eval_score ?? lastScore.get(phase) ?? null,
      failures: failures.get(phase) ?? [],
      startedAt: record?.started_at ?? null,
      endedAt: record?.ended_at ?? null,
    }
  })
}

/**
 * The phase a spec in `awaiting_approval` waits on: the record marked so, else the latest `spec.awaiting_approval`
 * event, else `current_phase`. Null when nothing awaits approval.
 */
export function approvalPhase(spec: SpecLike, events: readonly SpecEvent[] = []): SpecPhase | null {
  if (spec.status !== 'awaiting_approval') return null
  const record = (spec.phases ?? []).findLast((r) => r.status === 'awaiting_approval')
  if (record) return record.phase
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!
    if (e.type === 'spec.awaiting_approval' && typeof e.data?.phase === 'string') return e.data.phase as SpecPhase
  }
  return spec.current_phase
}
