import { fromCallback, fromPromise, setup } from 'xstate'
import type { SystemEventType } from '../schemas/events.ts'
import type { AgentPhase } from '../schemas/phase-outputs.ts'
import type {
  IntegrateInput,
  IntegrateOutput,
  LogEntry,
  MergeInput,
  PrepareInput,
  PublishOutput,
  RunnerInput,
  SpecContext,
  SpecEvent,
  SpecInput,
  SyncInput,
  SyncOutput,
} from './machine-types.ts'

/** What preparing the spec branch answers. */
export interface PrepareOutput {
  branch: string
  base: string
  baseCommit: string
  commit: string
  checkCommand: string | null
}

/** The spec machine's setup and the small pure helpers its state configs share. */

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
    // Delivery (src/actors/delivery-actors.ts): the spec branch, merges into it, the integrated check, the pull request.
    deliveryPrepare: fromPromise<PrepareOutput, PrepareInput>(async () => {
      throw new Error('deliveryPrepare must be provided by the host')
    }),
    taskMerger: fromCallback<SpecEvent, MergeInput>(() => {
      throw new Error('taskMerger must be provided by the host')
    }),
    integrator: fromPromise<IntegrateOutput, IntegrateInput>(async () => {
      throw new Error('integrator must be provided by the host')
    }),
    publisher: fromPromise<PublishOutput, { specId: string }>(async () => {
      throw new Error('publisher must be provided by the host')
    }),
  },
})

export const { assign, emit, enqueueActions } = specSetup

export type E<T extends SpecEvent['type']> = Extract<SpecEvent, { type: T }>
export type Args = { context: SpecContext; event: SpecEvent }

export const log = (event: SystemEventType, data: (a: Args) => Record<string, unknown>, sandboxId?: (a: Args) => string | null) =>
  emit(({ context, event: e }): LogEntry => ({ type: 'log', event, data: data({ context, event: e }), sandboxId: sandboxId?.({ context, event: e }) ?? null }))

const isPhaseEvent = (e: SpecEvent, phase: AgentPhase): boolean => 'phase' in e && e.phase === phase && !('task' in e)

/** The event is about this phase's current attempt (and, for sandbox events, its current sandbox generation). */
export const isCurrent = (ctx: SpecContext, e: SpecEvent, phase: AgentPhase): boolean => {
  if (!isPhaseEvent(e, phase)) return false
  const p = ctx.phases[phase]
  if ('attempt' in e && e.attempt !== p.attempt) return false
  if ('generation' in e && e.generation !== p.generation) return false
  return true
}

export const syncOutput = (event: unknown) => (event as { output: SyncOutput }).output

export const isTaskEvent = (e: SpecEvent): e is SpecEvent & { task: string; attempt: number } => 'task' in e && typeof e.task === 'string'
