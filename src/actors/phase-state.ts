import { APPROVAL_PHASES, type AgentPhase } from '../schemas/phase-outputs.ts'
import type { SpecContext, SpecEvent } from './machine-types.ts'
import { acceptOutput, countRejection, enterPhase, failPhase, restartPhase, updatePhase } from './phase-logic.ts'
import { MAX_REPLACEMENTS, MAX_SUBMISSIONS } from './scheduler.ts'
import { assign, isCurrent, log, specSetup, type Args, type E } from './spec-setup.ts'

/**
 * One planning phase (explore, requirements, design, tasks): `working` runs a sandbox until a submission is accepted
 * (3 submissions, 2 sandbox replacements, one deadline), then `awaiting` approval in manual mode, or on to `next`.
 */
export function phaseState(phase: AgentPhase, next: string) {
  const needsApproval = (ctx: SpecContext) => ctx.approval === 'manual' && (APPROVAL_PHASES as readonly string[]).includes(phase)
  const fail = (error: (a: Args) => string) => [
    assign(({ context, event }) => failPhase(context, phase, error({ context, event }))),
    log('spec.phase_failed', ({ context }) => ({ phase, attempt: context.phases[phase].attempt, error: context.failure?.error })),
    log('spec.execution_failed', ({ context }) => ({ phase, error: context.failure?.error })),
  ]
  const submission = (e: SpecEvent) => e as E<'SUBMISSION'>
  const completed = log('spec.phase_completed', ({ context }) => {
    const p = context.phases[phase]
    return {
      phase,
      attempt: p.attempt,
      eval_score: p.eval_score,
      duration_ms: p.started_at && p.ended_at ? Date.parse(p.ended_at) - Date.parse(p.started_at) : null,
    }
  })
  return specSetup.createStateConfig({
    initial: 'working',
    entry: assign(({ context }) => enterPhase(context, phase)),
    states: {
      working: {
        invoke: {
          src: 'sandboxRunner',
          id: `runner:${phase}`,
          input: ({ context }) => ({
            kind: 'phase' as const,
            phase,
            specId: context.specId,
            attempt: context.phases[phase].attempt,
            generation: context.phases[phase].generation,
            deadline: context.phases[phase].deadline!,
            silenceMs: context.settings.silenceMs,
          }),
        },
        on: {
          SANDBOX_STARTED: {
            guard: ({ context, event }) => isCurrent(context, event, phase) && context.phases[phase].sandboxId !== event.sandboxId,
            actions: [
              assign(({ context, event }) => ({ phases: updatePhase(context, phase, { sandboxId: (event as E<'SANDBOX_STARTED'>).sandboxId }) })),
              log(
                'spec.phase_started',
                ({ context }) => ({ phase, attempt: context.phases[phase].attempt, sandbox_id: context.phases[phase].sandboxId }),
                ({ context }) => context.phases[phase].sandboxId,
              ),
            ],
          },
          SUBMISSION: [
            {
              guard: ({ context, event }) =>
                !isCurrent(context, event, phase) || context.phases[phase].submissionIds.includes(submission(event).resultId),
            },
            {
              guard: ({ context, event }) => submission(event).verdict.accepted && needsApproval(context),
              target: 'awaiting',
              actions: [
                assign(({ context, event }) => acceptOutput(context, phase, submission(event), true)),
                completed,
                log('spec.awaiting_approval', () => ({ phase })),
              ],
            },
            {
              guard: ({ event }) => submission(event).verdict.accepted,
              target: `#spec.active.${next}`,
              actions: [
                assign(({ context, event }) => acceptOutput(context, phase, submission(event), false)),
                completed,
              ],
            },
            {
              guard: ({ context }) => context.phases[phase].submissions + 1 < MAX_SUBMISSIONS,
              actions: [
                assign(({ context, event }) => countRejection(context, phase, submission(event))),
                log('spec.phase_retry', ({ context, event }) => ({
                  phase,
                  attempt: context.phases[phase].attempt,
                  submission: context.phases[phase].submissions,
                  eval_score: submission(event).verdict.score,
                  feedback: submission(event).verdict.feedback,
                })),
              ],
            },
            {
              target: '#spec.failed',
              actions: [
                assign(({ context, event }) => countRejection(context, phase, submission(event))),
                ...fail(({ event }) => `rejected ${MAX_SUBMISSIONS} times; last feedback: ${submission(event).verdict.feedback}`),
              ],
            },
          ],
          AGENT_FAILED: {
            guard: ({ context, event }) => isCurrent(context, event, phase),
            target: '#spec.failed',
            actions: fail(({ event }) => (event as E<'AGENT_FAILED'>).error),
          },
          SANDBOX_ERROR: {
            guard: ({ context, event }) => isCurrent(context, event, phase),
            target: '#spec.failed',
            actions: fail(({ event }) => `the sandbox could not start: ${(event as E<'SANDBOX_ERROR'>).error}`),
          },
          DEADLINE: {
            guard: ({ context, event }) => isCurrent(context, event, phase),
            target: '#spec.failed',
            actions: fail(({ context }) => `the phase did not finish before its deadline (${context.phases[phase].deadline})`),
          },
          SANDBOX_LOST: [
            {
              guard: ({ context, event }) => isCurrent(context, event, phase) && context.phases[phase].generation < MAX_REPLACEMENTS,
              target: 'working',
              reenter: true,
              actions: [
                log(
                  'spec.sandbox_replaced',
                  ({ context, event }) => ({
                    phase,
                    attempt: context.phases[phase].attempt,
                    generation: context.phases[phase].generation + 1,
                    reason: (event as E<'SANDBOX_LOST'>).reason,
                  }),
                  ({ context }) => context.phases[phase].sandboxId,
                ),
                assign(({ context }) => ({
                  phases: updatePhase(context, phase, { generation: context.phases[phase].generation + 1, sandboxId: null }),
                })),
              ],
            },
            {
              guard: ({ context, event }) => isCurrent(context, event, phase),
              target: '#spec.failed',
              actions: fail(({ event }) => `its sandbox was lost ${MAX_REPLACEMENTS + 1} times (${(event as E<'SANDBOX_LOST'>).reason})`),
            },
          ],
        },
      },
      awaiting: {
        on: {
          APPROVE: {
            guard: ({ event }) => event.phase === phase,
            target: `#spec.active.${next}`,
            actions: [
              assign(({ context }) => ({ phases: updatePhase(context, phase, { status: 'completed' }) })),
              log('spec.approved', ({ event }) => ({ phase, by: (event as E<'APPROVE'>).by })),
            ],
          },
          REVISE: {
            guard: ({ event }) => event.phase === phase,
            target: 'working',
            actions: [
              assign(({ context, event }) => restartPhase(context, phase, `Requested change: ${(event as E<'REVISE'>).feedback}`)),
              log('spec.revision_requested', ({ event }) => ({ phase, by: (event as E<'REVISE'>).by, feedback: (event as E<'REVISE'>).feedback })),
            ],
          },
        },
      },
    },
  })
}
