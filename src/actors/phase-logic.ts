import type { AgentPhase, PhaseOutputs } from '../schemas/phase-outputs.ts'
import type { PhaseState, PlannedPhase, SpecContext, SpecInput } from './machine-types.ts'
import { PLANNED_PHASES } from './machine-types.ts'

/** Pure context updates of the planning phases, used by the machine's actions. */

export const nowIso = () => new Date().toISOString()

export const emptyPhase = (): PhaseState => ({
  status: 'pending',
  attempt: 0,
  submissions: 0,
  submissionIds: [],
  generation: 0,
  eval_score: null,
  started_at: null,
  ended_at: null,
  deadline: null,
  sandboxId: null,
})

export function initialContext(input: SpecInput): SpecContext {
  return {
    specId: input.specId,
    approval: input.approval,
    kind: input.kind,
    currentPhase: input.kind === 'quick' ? 'execute' : 'explore',
    phases: Object.fromEntries(PLANNED_PHASES.map((p) => [p, emptyPhase()])) as SpecContext['phases'],
    outputs: {},
    outputVersions: {},
    feedback: {},
    tasks: {},
    failure: null,
    settings: input.settings,
  }
}

export function updatePhase(ctx: SpecContext, phase: PlannedPhase, patch: Partial<PhaseState>): SpecContext['phases'] {
  return { ...ctx.phases, [phase]: { ...ctx.phases[phase], ...patch } }
}

/** Entering a phase: a fresh attempt unless one is already under way or awaits approval (resume, replacement, restore). */
export function enterPhase(ctx: SpecContext, phase: PlannedPhase): Partial<SpecContext> {
  const p = ctx.phases[phase]
  if ((p.status === 'running' || p.status === 'awaiting_approval') && p.deadline) return { currentPhase: phase }
  const now = Date.now()
  return {
    currentPhase: phase,
    failure: null,
    phases: updatePhase(ctx, phase, {
      status: 'running',
      attempt: p.status === 'running' ? p.attempt : p.attempt + 1,
      submissions: 0,
      submissionIds: [],
      generation: 0,
      started_at: new Date(now).toISOString(),
      ended_at: null,
      deadline: new Date(now + ctx.settings.phaseTimeoutMs).toISOString(),
      sandboxId: null,
    }),
  }
}

interface Submission {
  resultId: string
  output: unknown
  verdict: { score: number; feedback: string }
}

export function acceptOutput(ctx: SpecContext, phase: AgentPhase, sub: Submission, awaiting: boolean): Partial<SpecContext> {
  const p = ctx.phases[phase]
  return {
    outputs: { ...ctx.outputs, [phase]: sub.output as PhaseOutputs[typeof phase] },
    outputVersions: { ...ctx.outputVersions, [phase]: (ctx.outputVersions[phase] ?? 0) + 1 },
    feedback: { ...ctx.feedback, [phase]: [] },
    phases: updatePhase(ctx, phase, {
      status: awaiting ? 'awaiting_approval' : 'completed',
      submissions: p.submissions + 1,
      submissionIds: [...p.submissionIds, sub.resultId],
      eval_score: sub.verdict.score,
      ended_at: nowIso(),
    }),
  }
}

/** A rejected submission: counted, and its feedback kept for a replacement sandbox's agent. */
export function countRejection(ctx: SpecContext, phase: AgentPhase, sub: Submission): Partial<SpecContext> {
  const p = ctx.phases[phase]
  return {
    feedback: { ...ctx.feedback, [phase]: [...(ctx.feedback[phase] ?? []), `Evaluator: ${sub.verdict.feedback}`] },
    phases: updatePhase(ctx, phase, {
      submissions: p.submissions + 1,
      submissionIds: [...p.submissionIds, sub.resultId],
      eval_score: sub.verdict.score,
    }),
  }
}

export function failPhase(ctx: SpecContext, phase: PlannedPhase, error: string): Partial<SpecContext> {
  return {
    failure: { phase, error },
    phases: updatePhase(ctx, phase, { status: 'failed', ended_at: nowIso() }),
  }
}

/** A new attempt of a phase (revise, retry): counts restart, the feedback goes to the next agent. */
export function restartPhase(ctx: SpecContext, phase: AgentPhase | 'sync', feedback?: string): Partial<SpecContext> {
  const p = ctx.phases[phase]
  return {
    failure: null,
    ...(feedback && phase !== 'sync' ? { feedback: { ...ctx.feedback, [phase]: [...(ctx.feedback[phase] ?? []), feedback] } } : {}),
    phases: updatePhase(ctx, phase, {
      status: 'running',
      attempt: p.attempt + 1,
      submissions: 0,
      submissionIds: [],
      generation: 0,
      eval_score: null,
      started_at: nowIso(),
      ended_at: null,
      deadline: new Date(Date.now() + ctx.settings.phaseTimeoutMs).toISOString(),
      sandboxId: null,
    }),
  }
}

/** Resuming after a pause: the runners were stopped, so the running phase attempt and tasks get a full timeout again. */
export function resumeDeadlines(ctx: SpecContext): Partial<SpecContext> {
  const deadline = new Date(Date.now() + ctx.settings.phaseTimeoutMs).toISOString()
  const phase = ctx.currentPhase
  if (phase === 'done' || ctx.phases[phase].status !== 'running') return {}
  const tasks = Object.fromEntries(Object.entries(ctx.tasks).map(([k, t]) => [k, t.status === 'running' ? { ...t, deadline } : t]))
  return { phases: updatePhase(ctx, phase, { deadline }), ...(phase === 'execute' ? { tasks } : {}) }
}
