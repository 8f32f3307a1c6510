import type { AgentPhase } from '../schemas/phase-outputs.ts'
import { executeState, syncState } from './execute-state.ts'
import { retryTasks } from './execute-logic.ts'
import { initialContext, restartPhase, resumeDeadlines, updatePhase } from './phase-logic.ts'
import { phaseState } from './phase-state.ts'
import { newTask } from './scheduler.ts'
import { assign, log, specSetup, type E } from './spec-setup.ts'

/**
 * The spec machine (pure): draft → active (explore → requirements → design → tasks → sync → execute) → completed,
 * with paused, failed (retryable) and cancelled beside it. Effects are the named actors `sandboxRunner` and
 * `syncWriter`, provided by the host; what happened is told with emitted `log` entries, which the host writes to the
 * event log in the same transaction as the snapshot.
 */

export { specSetup }

export const specMachine = specSetup.createMachine({
  id: 'spec',
  context: ({ input }) => initialContext(input),
  initial: 'draft',
  states: {
    draft: {
      on: {
        LAUNCH: [
          {
            guard: ({ context }) => context.kind === 'quick',
            target: 'active.execute',
            actions: [
              assign(({ event }) => ({
                tasks: Object.fromEntries(
                  ((event as E<'LAUNCH'>).quickTasks ?? []).map((t) => [t.key, newTask({ ...t, depends_on: [] })]),
                ),
              })),
              log('spec.execution_started', ({ event }) => ({ by: (event as E<'LAUNCH'>).by, mode: 'quick' })),
            ],
          },
          { target: 'active', actions: log('spec.execution_started', ({ event }) => ({ by: (event as E<'LAUNCH'>).by })) },
        ],
        CANCEL: { target: 'cancelled', actions: log('spec.cancelled', ({ event }) => ({ by: (event as E<'CANCEL'>).by })) },
      },
    },
    active: {
      initial: 'explore',
      on: {
        PAUSE: { target: 'paused', actions: log('spec.paused', ({ event }) => ({ by: (event as E<'PAUSE'>).by })) },
        CANCEL: { target: 'cancelled', actions: log('spec.cancelled', ({ event }) => ({ by: (event as E<'CANCEL'>).by })) },
        BUDGET_EXCEEDED: {
          target: 'paused',
          actions: [
            log('spec.budget_exceeded', ({ event }) => ({
              cost_usd: (event as E<'BUDGET_EXCEEDED'>).cost_usd,
              budget_usd: (event as E<'BUDGET_EXCEEDED'>).budget_usd,
            })),
            log('spec.paused', () => ({ by: 'budget' })),
          ],
        },
      },
      states: {
        explore: phaseState('explore', 'requirements'),
        requirements: phaseState('requirements', 'design'),
        design: phaseState('design', 'tasks'),
        tasks: phaseState('tasks', 'sync'),
        sync: syncState,
        execute: executeState,
        hist: { type: 'history', history: 'deep' },
      },
    },
    paused: {
      on: {
        RESUME: {
          target: 'active.hist',
          actions: [assign(({ context }) => resumeDeadlines(context)), log('spec.resumed', ({ event }) => ({ by: (event as E<'RESUME'>).by }))],
        },
        CANCEL: { target: 'cancelled', actions: log('spec.cancelled', ({ event }) => ({ by: (event as E<'CANCEL'>).by })) },
      },
    },
    failed: {
      on: {
        RETRY: {
          guard: ({ context, event }) => {
            const task = (event as E<'RETRY'>).task
            if (!context.failure) return false
            if (task) return context.failure.phase === 'execute' && context.tasks[task]?.status === 'failed'
            return true
          },
          target: 'active.hist',
          actions: [
            assign(({ context, event }) => {
              const phase = context.failure!.phase
              if (phase === 'execute') {
                return {
                  failure: null,
                  tasks: retryTasks(context, (event as E<'RETRY'>).task),
                  phases: updatePhase(context, 'execute', { status: 'running', ended_at: null }),
                }
              }
              return restartPhase(context, phase as AgentPhase | 'sync', `Previous attempt failed: ${context.failure!.error}`)
            }),
            log('spec.retried', ({ context, event }) => ({ phase: context.currentPhase, task_id: (event as E<'RETRY'>).task ?? null, by: (event as E<'RETRY'>).by })),
          ],
        },
        CANCEL: { target: 'cancelled', actions: log('spec.cancelled', ({ event }) => ({ by: (event as E<'CANCEL'>).by })) },
      },
    },
    cancelled: { type: 'final' },
    completed: {
      type: 'final',
      entry: [assign({ currentPhase: 'done' as const }), log('spec.execution_completed', ({ context }) => ({ tasks: Object.keys(context.tasks).length }))],
    },
  },
})

