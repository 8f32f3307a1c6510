import type { PhaseSummary, SpecStatus } from '../db/specs.ts'
import type { SpecPhase } from '../schemas/phase-outputs.ts'
import { PLANNED_PHASES, type SpecContext } from './machine-types.ts'

/** How a spec actor's snapshot reads from outside: status, current phase, a state path, the phases summary. Pure. */

type StateValue = string | { [k: string]: StateValue }

/** `{active: {design: 'awaiting'}}` → `active.design.awaiting` */
export function statePath(value: StateValue): string {
  if (typeof value === 'string') return value
  const [key, child] = Object.entries(value)[0] ?? ['?', '']
  return child === undefined || child === '' ? key : `${key}.${statePath(child)}`
}

export function specStatus(path: string): SpecStatus {
  const top = path.split('.')[0]!
  switch (top) {
    case 'draft':
    case 'paused':
    case 'failed':
    case 'cancelled':
    case 'completed':
      return top
    default:
      return path.endsWith('.awaiting') ? 'awaiting_approval' : 'executing'
  }
}

export function phasesSummary(ctx: SpecContext, status: SpecStatus): PhaseSummary[] {
  if (status === 'draft') return []
  return PLANNED_PHASES.filter((p) => ctx.kind === 'spec' || p === 'execute').map((phase) => {
    const p = ctx.phases[phase]
    return {
      phase,
      status: p.status,
      attempts: p.attempt,
      eval_score: p.eval_score,
      started_at: p.started_at,
      ended_at: p.ended_at,
    }
  })
}

export function describeSnapshot(snapshot: { value: unknown; context: SpecContext }) {
  const state = statePath(snapshot.value as StateValue)
  const status = specStatus(state)
  return {
    state,
    status,
    current_phase: snapshot.context.currentPhase as SpecPhase,
    phases: phasesSummary(snapshot.context, status),
    final: status === 'completed' || status === 'cancelled',
  }
}

/** The sandbox working for the spec now, if any (the admin view shows it). */
export function liveSandboxId(ctx: SpecContext): string | null {
  const phase = ctx.currentPhase
  if (phase !== 'done' && phase !== 'execute' && ctx.phases[phase]?.status === 'running') return ctx.phases[phase].sandboxId
  return Object.values(ctx.tasks).find((t) => t.status === 'running' && t.sandboxId)?.sandboxId ?? null
}
