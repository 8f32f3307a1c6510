import { randomUUID } from 'node:crypto'
import { createActor, fromCallback, fromPromise } from 'xstate'
import type { RunnerInput, SpecEvent, SpecSettings, SyncInput, SyncOutput } from '../../src/actors/machine-types.ts'
import { specMachine } from '../../src/actors/spec-machine.ts'
import { goodExploration, goodRequirements } from '../../test/support/fixtures.ts'


export const BENCH_SETTINGS: SpecSettings = { silenceMs: 60_000, phaseTimeoutMs: 3_600_000, taskConcurrency: 2 }

/** Effects that must never run for an idle actor: restoring one that is waiting for a person starts nothing. */
export const idleOnlyMachine = () =>
  specMachine.provide({
    actors: {
      sandboxRunner: fromCallback<SpecEvent, RunnerInput>(() => {
        throw new Error('an idle restored actor started a sandbox runner')
      }),
      syncWriter: fromPromise<SyncOutput, SyncInput>(async () => {
        throw new Error('an idle restored actor started SYNC')
      }),
    },
  })

/**
 * The persisted snapshot of a manual-approval spec that has finished explore and requirements and now waits for a
 * person in `active.requirements.awaiting`, driven through the real machine with inert effects.
 */
export function awaitingApprovalSnapshot(specId: string): { persisted: unknown; value: unknown; context: unknown } {
  const machine = specMachine.provide({
    actors: {
      sandboxRunner: fromCallback<SpecEvent, RunnerInput>(() => () => {}),
      syncWriter: fromPromise<SyncOutput, SyncInput>(async () => ({ tickets: 0, tasks: [] })),
    },
  })
  const actor = createActor(machine, { input: { specId, approval: 'manual', kind: 'spec', settings: BENCH_SETTINGS } })
  actor.start()
  actor.send({ type: 'LAUNCH', by: 'usr_bench' })
  const accept = { accepted: true, score: 0.9, feedback: 'good' }
  actor.send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_bench_explore', phase: 'explore', attempt: 1, generation: 0 })
  actor.send({ type: 'SUBMISSION', phase: 'explore', attempt: 1, resultId: randomUUID(), verdict: accept, output: goodExploration })
  actor.send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_bench_requirements', phase: 'requirements', attempt: 1, generation: 0 })
  actor.send({ type: 'SUBMISSION', phase: 'requirements', attempt: 1, resultId: randomUUID(), verdict: accept, output: goodRequirements })
  const snap = actor.getSnapshot()
  if (!snap.matches({ active: { requirements: 'awaiting' } })) {
    throw new Error(`the template spec did not reach active.requirements.awaiting: ${JSON.stringify(snap.value)}`)
  }
  const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()))
  actor.stop()
  return { persisted, value: snap.value, context: snap.context }
}
