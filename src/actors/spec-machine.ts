import { assign as assignDone, emit as emitDone, fromCallback, fromPromise, setup, type SnapshotFrom } from 'xstate'
import { APPROVAL_PHASES, type AgentPhase } from '../schemas/phase-outputs.ts'
import { onTaskProblem, onTaskSubmission, retryTasks, runningChildIds, startExecution, type TaskStep } from './execute-logic.ts'
import type { LogEntry, RunnerInput, SpecContext, SpecEvent, SpecInput, SyncInput, SyncOutput } from './machine-types.ts'
import { acceptOutput, countRejection, enterPhase, failPhase, initialContext, nowIso, restartPhase, resumeDeadlines, updatePhase } from './phase-logic.ts'
import { allCompleted, isStuck, MAX_REPLACEMENTS, MAX_SUBMISSIONS, newTask } from './scheduler.ts'

/**
 * The spec machine (pure): draft → active (explore → requirements → design → tasks → sync → execute) → completed,
 * with paused, failed (retryable) and cancelled beside it. Effects are the named actors `sandboxRunner` and
 * `syncWriter`, provided by the host; what happened is told with emitted `log` entries, which the host writes to the
 * event log in the same transaction as the snapshot.
 */

export const specSetup = setup({
  types: {} as { context: SpecContext; events: SpecEvent; input: SpecInput; emitted: LogEntry },
  actors: {
    // Implemented by the host (src/actors/runner.ts, sync.ts); these defaults only name the contracts.
    sandboxRunner: fromCallback<SpecEvent, RunnerInput>(() => {
      throw new Error('sandboxRunner must be provided by the host')
    }),
    syncWriter: fromPromise<SyncOutput, SyncInput>(async () => {
      throw new Error('syncWriter must be provided by the host')
    }),
  },
})

const { assign, emit, enqueueActions } = specSetup

type E<T extends SpecEvent['type']> = Extract<SpecEvent, { type: T }>
type Args = { context: SpecContext; event: SpecEvent }

const log = (event: string, data: (a: Args) => Record<string, unknown>, sandboxId?: (a: Args) => string | null) =>
  emit(({ context, event: e }): LogEntry => ({ type: 'log', event, data: data({ context, event: e }), sandboxId: sandboxId?.({ context, event: e }) ?? null }))

const isPhaseEvent = (e: SpecEvent, phase: AgentPhase): boolean => 'phase' in e && e.phase === phase && !('task' in e)

/** The event is about this phase's current attempt (and, for sandbox events, its current sandbox generation). */
const isCurrent = (ctx: SpecContext, e: SpecEvent, phase: AgentPhase): boolean => {
  if (!isPhaseEvent(e, phase)) return false
  const p = ctx.phases[phase]
  if ('attempt' in e && e.attempt !== p.attempt) return false
  if ('generation' in e && e.generation !== p.generation) return false
  return true
}

const syncOutput = (event: unknown) => (event as { output: SyncOutput }).output
const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err))

const isTaskEvent = (e: SpecEvent): e is SpecEvent & { task: string; attempt: number } => 'task' in e && typeof e.task === 'string'

function applyStep(enqueue: { assign: (p: Partial<SpecContext>) => void; stopChild: (id: string) => void; spawnChild: (src: 'sandboxRunner', o: { id: string; input: RunnerInput }) => void; emit: (e: LogEntry) => void }, step: TaskStep) {
  enqueue.assign({ tasks: step.tasks })
  for (const id of step.stop) enqueue.stopChild(id)
  for (const s of step.spawn) enqueue.spawnChild('sandboxRunner', { id: s.id, input: s.input })
  for (const l of step.logs) enqueue.emit(l)
}

function phaseState(phase: AgentPhase, next: string) {
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
        sync: {
          entry: assign(({ context }) => enterPhase(context, 'sync')),
          invoke: {
            src: 'syncWriter',
            input: ({ context }) => ({ specId: context.specId, requirements: context.outputs.requirements, tasks: context.outputs.tasks }),
            onDone: {
              target: 'execute',
              actions: [
                assignDone(({ context, event }) => ({
                  tasks: Object.fromEntries(syncOutput(event).tasks.map((t) => [t.key, context.tasks[t.key] ?? newTask(t)])),
                  phases: updatePhase(context, 'sync', { status: 'completed', ended_at: nowIso(), eval_score: 1 }),
                })),
                emitDone(({ event }) => ({
                  type: 'log' as const,
                  event: 'spec.tasks_queued',
                  data: { tickets: syncOutput(event).tickets, tasks: syncOutput(event).tasks.length },
                })),
              ],
            },
            onError: {
              target: '#spec.failed',
              actions: [
                assignDone(({ context, event }) => failPhase(context, 'sync', errorMessage((event as unknown as { error: unknown }).error))),
                emitDone(({ context }) => ({ type: 'log' as const, event: 'spec.phase_failed', data: { phase: 'sync', error: context.failure?.error } })),
                emitDone(({ context }) => ({ type: 'log' as const, event: 'spec.execution_failed', data: { phase: 'sync', error: context.failure?.error } })),
              ],
            },
          },
        },
        execute: {
          entry: [
            assign(({ context }) => enterPhase(context, 'execute')),
            enqueueActions(({ context, enqueue }) => applyStep(enqueue as never, startExecution(context, true))),
          ],
          exit: enqueueActions(({ context, enqueue }) => {
            for (const id of runningChildIds(context.tasks)) enqueue.stopChild(id)
          }),
          always: [
            {
              guard: ({ context }) => Object.keys(context.tasks).length > 0 && allCompleted(context.tasks),
              target: '#spec.completed',
              actions: assign(({ context }) => ({ phases: updatePhase(context, 'execute', { status: 'completed', ended_at: nowIso() }) })),
            },
            {
              guard: ({ context }) => isStuck(context.tasks),
              target: '#spec.failed',
              actions: [
                assign(({ context }) => {
                  const failed = Object.values(context.tasks).filter((t) => t.status === 'failed')
                  const blocked = Object.values(context.tasks).filter((t) => t.status === 'blocked')
                  const error =
                    `${failed.map((t) => t.key).join(', ')} failed after its retries` +
                    (blocked.length ? `; blocked: ${blocked.map((t) => t.key).join(', ')}` : '') +
                    '. Retry the task or cancel the spec.'
                  return failPhase(context, 'execute', error)
                }),
                log('spec.execution_failed', ({ context }) => ({ phase: 'execute', error: context.failure?.error })),
              ],
            },
          ],
          on: {
            SANDBOX_STARTED: {
              guard: ({ context, event }) => isTaskEvent(event) && context.tasks[event.task]?.attempt === event.attempt,
              actions: enqueueActions(({ context, event, enqueue }) => {
                const e = event as E<'SANDBOX_STARTED'> & { task: string }
                const t = context.tasks[e.task]!
                if (t.status !== 'running' || t.generation !== e.generation || t.sandboxId === e.sandboxId) return
                enqueue.assign({ tasks: { ...context.tasks, [t.key]: { ...t, sandboxId: e.sandboxId } } })
                enqueue.emit({ type: 'log', event: 'spec.task_started', data: { task_id: t.key, sandbox_id: e.sandboxId, attempt: t.attempt }, sandboxId: e.sandboxId })
              }),
            },
            TASK_SUBMISSION: {
              actions: enqueueActions(({ context, event, enqueue }) => applyStep(enqueue as never, onTaskSubmission(context, event as E<'TASK_SUBMISSION'>))),
            },
            TASK_AGENT_FAILED: {
              actions: enqueueActions(({ context, event, enqueue }) =>
                applyStep(enqueue as never, onTaskProblem(context, { ...(event as E<'TASK_AGENT_FAILED'>), kind: 'agent_failed' })),
              ),
            },
            SANDBOX_LOST: {
              guard: ({ event }) => isTaskEvent(event),
              actions: enqueueActions(({ context, event, enqueue }) => {
                const e = event as E<'SANDBOX_LOST'> & { task: string }
                applyStep(enqueue as never, onTaskProblem(context, { ...e, kind: 'lost', error: e.reason }))
              }),
            },
            SANDBOX_ERROR: {
              guard: ({ event }) => isTaskEvent(event),
              actions: enqueueActions(({ context, event, enqueue }) => {
                const e = event as E<'SANDBOX_ERROR'> & { task: string }
                applyStep(enqueue as never, onTaskProblem(context, { ...e, kind: 'error', error: `the sandbox could not start: ${e.error}` }))
              }),
            },
            DEADLINE: {
              guard: ({ event }) => isTaskEvent(event),
              actions: enqueueActions(({ context, event, enqueue }) => {
                const e = event as E<'DEADLINE'> & { task: string }
                applyStep(enqueue as never, onTaskProblem(context, { ...e, kind: 'deadline', error: 'the task did not finish before its deadline' }))
              }),
            },
          },
        },
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

export type SpecSnapshot = SnapshotFrom<typeof specMachine>
