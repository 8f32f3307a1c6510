import { assign as assignDone, emit as emitDone, enqueueActions as enqueueDone } from 'xstate'
import {
  canFixIntegration,
  onTaskMerged,
  onTaskMergeConflict,
  onTaskMergeError,
  onTaskProblem,
  onTaskSubmission,
  runningChildIds,
  startExecution,
  startIntegrationFixup,
  type TaskStep,
} from './execute-logic.ts'
import type { LogEntry, MergeInput, PrepareInput, RunnerInput, SpecContext } from './machine-types.ts'
import { enterPhase, failPhase, nowIso, updatePhase } from './phase-logic.ts'
import { allCompleted, isStuck, newTask, type TaskMap } from './scheduler.ts'
import { errorMessage } from '../errors.ts'
import { assign, enqueueActions, isTaskEvent, log, specSetup, syncOutput, type E, type PrepareOutput } from './spec-setup.ts'

type Enqueue = {
  assign: (p: Partial<SpecContext>) => void
  stopChild: (id: string) => void
  spawnChild: ((src: 'sandboxRunner', o: { id: string; input: RunnerInput }) => void) &
    ((src: 'taskMerger', o: { id: string; input: MergeInput }) => void)
  emit: (e: LogEntry) => void
}

/** Carries out one step of the execute bookkeeping: new task map, runners and merges stopped and spawned, log entries. */
function applyStep(enqueue: Enqueue, step: TaskStep) {
  enqueue.assign({ tasks: step.tasks, ...(step.delivery ? { delivery: step.delivery } : {}) })
  for (const id of step.stop) enqueue.stopChild(id)
  for (const s of step.spawn) enqueue.spawnChild('sandboxRunner', { id: s.id, input: s.input })
  for (const m of step.merges ?? []) enqueue.spawnChild('taskMerger', { id: m.id, input: m.input })
  for (const l of step.logs) enqueue.emit(l)
}

/** For onDone/onError of the delivery actors: fail the execute phase with this error. */
const failExecute = (error: (a: { context: SpecContext; event: unknown }) => string): never[] => [
  assignDone(({ context, event }: { context: SpecContext; event: unknown }) => failPhase(context, 'execute', error({ context, event }))),
  emitDone(({ context }: { context: SpecContext }) => ({
    type: 'log' as const,
    event: 'spec.execution_failed' as const,
    data: { phase: 'execute', error: context.failure?.error },
  })),
] as never[]
const integratedLog = emitDone(({ context }: { context: SpecContext }) => {
  const { commit, check, sandboxId = null } = context.delivery!.integrated!
  const data = { branch: context.delivery!.branch, commit, check, sandbox_id: sandboxId }
  return { type: 'log' as const, event: 'spec.integrated' as const, data, sandboxId }
}) as never
const errorOf = (event: unknown) => errorMessage((event as { error: unknown }).error)

/** What preparing the spec branch is given. */
export const prepareInput = (context: SpecContext): PrepareInput => ({
  specId: context.specId,
  exploredCheck: context.outputs.explore?.check_command ?? null,
})

/**
 * Tasks accepted before the spec branch existed, waiting to be merged into it once it does: only in a spec that an older
 * omoi was executing (src/actors/snapshot-migration.ts).
 */
const carriedMerges = (tasks: TaskMap) =>
  Object.values(tasks)
    .filter((t) => t.status === 'running' && t.stage === 'merging')
    .map((t) => t.key)

/** SYNC: the server writes tickets and tasks (the `syncWriter` actor), then execution starts. */
export const syncState = specSetup.createStateConfig({
  entry: assign(({ context }) => enterPhase(context, 'sync')),
  invoke: {
    src: 'syncWriter',
    input: ({ context }) => ({ specId: context.specId, requirements: context.outputs.requirements, tasks: context.outputs.tasks }),
    onDone: {
      target: 'execute',
      actions: [
        assignDone(({ context, event }) => ({
          tasks: Object.fromEntries(
            syncOutput(event).tasks.map((t) => [
              t.key,
              context.tasks[t.key] ?? newTask({ ...t, files: context.outputs.tasks?.tasks.find((p) => p.id === t.key)?.files ?? [] }),
            ]),
          ),
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
})

/**
 * EXECUTE: first the spec branch is made (`deliveryPrepare`); then task runners are spawned children (named logic,
 * persisted with the spec), started in dependency order up to the concurrency limit, and each accepted task is merged
 * into the spec branch (`taskMerger`, one at a time, in the order they were accepted). After the last merge the check
 * runs on the spec branch in a check sandbox (`integrator`), then the pull request is opened (`publisher`). The pure
 * bookkeeping is in execute-logic.ts.
 */
export const executeState = specSetup.createStateConfig({
  initial: 'preparing',
  entry: assign(({ context }) => enterPhase(context, 'execute')),
  exit: enqueueActions(({ context, enqueue }) => {
    for (const id of runningChildIds(context.tasks)) enqueue.stopChild(id)
  }),
  states: {
    preparing: {
      always: { guard: ({ context }) => !!context.delivery, target: 'running' },
      invoke: {
        src: 'deliveryPrepare',
        input: ({ context }) => prepareInput(context),
        onDone: {
          target: 'running',
          actions: assignDone(({ context, event }) => {
            const out = (event as unknown as { output: PrepareOutput }).output
            return { delivery: { ...out, mergeQueue: carriedMerges(context.tasks), integrated: null, pullRequest: null } }
          }),
        },
        onError: { target: '#spec.failed', actions: failExecute(({ event }) => `could not create the spec branch: ${errorOf(event)}`) },
      },
    },
    running: {
      entry: enqueueActions(({ context, enqueue }) => applyStep(enqueue as never, startExecution(context, true))),
      always: [
        {
          guard: ({ context }) => Object.keys(context.tasks).length > 0 && allCompleted(context.tasks),
          target: 'integrating',
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
    },
    integrating: {
      invoke: {
        src: 'integrator',
        input: ({ context }) => ({
          specId: context.specId,
          branch: context.delivery!.branch,
          checkCommand: context.delivery!.checkCommand,
          round: (context.delivery!.integrationFixups ?? 0) + 1,
        }),
        onDone: [
          {
            guard: ({ event }) => (event as unknown as { output: { check: { passed: boolean } | null } }).output.check?.passed !== false,
            target: 'publishing',
            actions: [
              assignDone(({ context, event }) => ({ delivery: { ...context.delivery!, integrated: (event as never as { output: never }).output } })),
              integratedLog,
            ],
          },
          {
            guard: ({ context }) => canFixIntegration(context),
            target: 'running',
            actions: [
              assignDone(({ context, event }) => ({ delivery: { ...context.delivery!, integrated: (event as never as { output: never }).output } })),
              integratedLog,
              assignDone(({ context }) => startIntegrationFixup(context, context.delivery!.integrated!.check!)),
            ],
          },
          {
            target: '#spec.failed',
            actions: [
              assignDone(({ context, event }) => ({ delivery: { ...context.delivery!, integrated: (event as never as { output: never }).output } })),
              integratedLog,
              ...failExecute(({ context }) => {
                const check = context.delivery!.integrated!.check!
                return `the check \`${check.command}\` failed on ${context.delivery!.branch} (exit code ${check.exit_code}); its output ends with:\n${check.output_tail}`
              }),
            ],
          },
        ],
        onError: { target: '#spec.failed', actions: failExecute(({ event }) => `could not run the check on the spec branch: ${errorOf(event)}`) },
      },
    },
    publishing: {
      invoke: {
        src: 'publisher',
        input: ({ context }) => ({ specId: context.specId }),
        onDone: {
          target: '#spec.completed',
          actions: [
            assignDone(({ context, event }) => ({
              delivery: { ...context.delivery!, pullRequest: (event as unknown as { output: { pullRequest: null } }).output.pullRequest },
              phases: updatePhase(context, 'execute', { status: 'completed', ended_at: nowIso() }),
            })),
            enqueueDone(({ context, enqueue }) => {
              const pr = (context as SpecContext).delivery?.pullRequest
              if (pr) enqueue.emit({ type: 'log', event: 'spec.pull_request_opened', data: { url: pr.url, number: pr.number } })
            }),
          ],
        },
        onError: { target: '#spec.failed', actions: failExecute(({ event }) => `could not deliver the spec branch: ${errorOf(event)}`) },
      },
    },
  },
  on: {
    SANDBOX_STARTED: {
      guard: ({ context, event }) => isTaskEvent(event) && context.tasks[event.task]?.attempt === event.attempt,
      actions: enqueueActions(({ context, event, enqueue }) => {
        const e = event as E<'SANDBOX_STARTED'> & { task: string }
        const t = context.tasks[e.task]!
        if (t.status !== 'running' || t.stage === 'merging' || t.generation !== e.generation || t.sandboxId === e.sandboxId) return
        enqueue.assign({ tasks: { ...context.tasks, [t.key]: { ...t, sandboxId: e.sandboxId } } })
        enqueue.emit({ type: 'log', event: 'spec.task_started', data: { task_id: t.key, sandbox_id: e.sandboxId, attempt: t.attempt, ...(t.fixup ? { fixup: t.fixup } : {}) }, sandboxId: e.sandboxId })
      }),
    },
    TASK_SUBMISSION: {
      actions: enqueueActions(({ context, event, enqueue }) => applyStep(enqueue as never, onTaskSubmission(context, event as E<'TASK_SUBMISSION'>))),
    },
    TASK_MERGED: {
      actions: enqueueActions(({ context, event, enqueue }) => applyStep(enqueue as never, onTaskMerged(context, event as E<'TASK_MERGED'>))),
    },
    TASK_MERGE_CONFLICT: {
      actions: enqueueActions(({ context, event, enqueue }) =>
        applyStep(enqueue as never, onTaskMergeConflict(context, event as E<'TASK_MERGE_CONFLICT'>)),
      ),
    },
    TASK_MERGE_ERROR: {
      actions: enqueueActions(({ context, event, enqueue }) => applyStep(enqueue as never, onTaskMergeError(context, event as E<'TASK_MERGE_ERROR'>))),
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
})
