import { assign as assignDone, emit as emitDone } from 'xstate'
import { onTaskProblem, onTaskSubmission, runningChildIds, startExecution, type TaskStep } from './execute-logic.ts'
import type { LogEntry, RunnerInput, SpecContext } from './machine-types.ts'
import { enterPhase, failPhase, nowIso, updatePhase } from './phase-logic.ts'
import { allCompleted, isStuck, newTask } from './scheduler.ts'
import { assign, enqueueActions, errorMessage, isTaskEvent, log, specSetup, syncOutput, type E } from './spec-setup.ts'

type Enqueue = {
  assign: (p: Partial<SpecContext>) => void
  stopChild: (id: string) => void
  spawnChild: (src: 'sandboxRunner', o: { id: string; input: RunnerInput }) => void
  emit: (e: LogEntry) => void
}

/** Carries out one step of the execute bookkeeping: new task map, runners stopped and spawned, log entries. */
function applyStep(enqueue: Enqueue, step: TaskStep) {
  enqueue.assign({ tasks: step.tasks })
  for (const id of step.stop) enqueue.stopChild(id)
  for (const s of step.spawn) enqueue.spawnChild('sandboxRunner', { id: s.id, input: s.input })
  for (const l of step.logs) enqueue.emit(l)
}

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
})

/**
 * EXECUTE: task runners are spawned children (named logic, persisted with the spec), started in dependency order up
 * to the concurrency limit; the pure bookkeeping is in execute-logic.ts.
 */
export const executeState = specSetup.createStateConfig({
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
})
