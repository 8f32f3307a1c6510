import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createActor, fromCallback, fromPromise, waitFor, type Actor, type Snapshot } from 'xstate'
import type { PrepareOutput } from '../../src/actors/spec-setup.ts'
import type { CheckResult } from '../../src/schemas/task-report.ts'
import type { IntegrateInput, LogEntry, MergeInput, PrepareInput, PublishOutput, RunnerInput, SpecEvent, SpecInput, SyncInput, SyncOutput, Verdict } from '../../src/actors/machine-types.ts'
import { specMachine } from '../../src/actors/spec-machine.ts'
import type { AgentPhase } from '../../src/schemas/phase-outputs.ts'
import { goodDesign, goodExploration, goodRequirements, goodTasks } from '../support/fixtures.ts'

/**
 * The spec machine with test doubles for its two effects, shared by the spec-machine*.test.ts files. The runner stub
 * records every runner the machine starts (input, whether it was stopped) and hands the test its `sendBack`.
 */

export type SpecActor = Actor<typeof specMachine>

export interface FakeRunner {
  input: RunnerInput
  /** The runner's sendBack: events to the spec actor, as the real runner would send them. */
  send: (event: SpecEvent) => void
  stopped: boolean
}

export const OUTPUTS = { explore: goodExploration, requirements: goodRequirements, design: goodDesign, tasks: goodTasks } as const

/** What SYNC writes for goodTasks: the diamond TSK-001 → (TSK-002, TSK-003) → TSK-004. */
export const DIAMOND: SyncOutput = {
  tickets: goodTasks.tickets.length,
  tasks: goodTasks.tasks.map((t) => ({ key: t.id, ticket: t.ticket, title: t.title, depends_on: [...t.depends_on] })),
}

export const ACCEPT: Verdict = { accepted: true, score: 0.9, feedback: 'good' }
export const reject = (feedback = 'missing acceptance criteria', score = 0.4): Verdict => ({ accepted: false, score, feedback })

export interface HarnessOptions {
  approval?: 'auto' | 'manual'
  kind?: 'spec' | 'quick'
  concurrency?: number
  sync?: SyncOutput | Error
  /** `manual`: merges wait for the test to send their outcome (default: each merges at once). */
  merge?: 'auto' | 'manual'
}

export function harness(opts: HarnessOptions = {}) {
  const runners: FakeRunner[] = []
  const syncCalls: SyncInput[] = []
  const merges: MergeInput[] = []
  const logs: LogEntry[] = []
  let resultSeq = 0
  const machine = specMachine.provide({
    actors: {
      sandboxRunner: fromCallback<SpecEvent, RunnerInput>(({ input, sendBack }) => {
        const runner: FakeRunner = { input, send: sendBack, stopped: false }
        runners.push(runner)
        return () => {
          runner.stopped = true
        }
      }),
      syncWriter: fromPromise<SyncOutput, SyncInput>(async ({ input }) => {
        syncCalls.push(input)
        if (opts.sync instanceof Error) throw opts.sync
        return opts.sync ?? DIAMOND
      }),
      // delivery: the spec branch is there at once, every merge succeeds, the integrated check passes, no forge
      deliveryPrepare: fromPromise<PrepareOutput, PrepareInput>(async () => ({ branch: 'omoi/x/spec', base: 'main', baseCommit: 'a0', commit: 'a0', checkCommand: null })),
      taskMerger: fromCallback<SpecEvent, MergeInput>(({ input, sendBack }) => {
        merges.push(input)
        if (opts.merge === 'manual') return
        sendBack({ type: 'TASK_MERGED', task: input.task, attempt: input.attempt, fixup: input.fixup, commit: `${input.commit}-merged` })
      }),
      integrator: fromPromise<{ commit: string; check: CheckResult | null }, IntegrateInput>(async () => ({ commit: 'c1', check: null })),
      publisher: fromPromise<PublishOutput, { specId: string }>(async () => ({ pullRequest: null })),
    },
  })
  const input: SpecInput = {
    specId: 'spec_x',
    approval: opts.approval ?? 'auto',
    kind: opts.kind ?? 'spec',
    settings: { silenceMs: 60_000, phaseTimeoutMs: 3_600_000, taskConcurrency: opts.concurrency ?? 2 },
  }

  /** A new actor, fresh or restored from a persisted snapshot (as the host does on boot). */
  const start = (snapshot?: Snapshot<unknown>): SpecActor => {
    const actor = snapshot ? createActor(machine, { snapshot, input }) : createActor(machine, { input })
    actor.on('log', (entry) => logs.push(entry))
    actor.start()
    return actor
  }

  const live = () => runners.filter((r) => !r.stopped)
  const phaseRunners = (phase: AgentPhase) => runners.filter((r) => r.input.kind === 'phase' && r.input.phase === phase)
  const taskRunners = (task?: string) => runners.filter((r) => r.input.kind === 'task' && (!task || r.input.task === task))
  const liveTasks = () =>
    live()
      .flatMap((r) => (r.input.kind === 'task' ? [r.input.task] : []))
      .sort()

  /** The one live runner of a phase or a task; fails the test when there is none or more than one. */
  const runnerOf = (target: { phase: AgentPhase } | { task: string }): FakeRunner => {
    const found = live().filter((r) =>
      'phase' in target ? r.input.kind === 'phase' && r.input.phase === target.phase : r.input.kind === 'task' && r.input.task === target.task,
    )
    expect(found, `exactly one live runner for ${JSON.stringify(target)}`).toHaveLength(1)
    return found[0]!
  }

  const events = (type: string) => logs.filter((l) => l.event === type)
  const eventTypes = () => logs.map((l) => l.event)

  /** The phase's live runner submits (with a fresh result id unless one is given). */
  const submit = (phase: AgentPhase, verdict: Verdict, resultId = `res_${++resultSeq}`) => {
    const r = runnerOf({ phase })
    r.send({ type: 'SUBMISSION', phase, attempt: r.input.attempt, resultId, verdict, output: OUTPUTS[phase] })
    return resultId
  }

  const submitTask = (task: string, verdict: Verdict, output: unknown = { branch: `omoi/spec_x/${task}`, commit: `c-${task}` }) => {
    const r = runnerOf({ task })
    r.send({ type: 'TASK_SUBMISSION', task, attempt: r.input.attempt, resultId: `res_${++resultSeq}`, verdict, output })
  }

  /** Drives a fresh auto-mode spec through the four agent phases and SYNC into execute. */
  const toExecute = async (): Promise<SpecActor> => {
    const actor = start()
    actor.send({ type: 'LAUNCH', by: 'user_1' })
    for (const phase of ['explore', 'requirements', 'design', 'tasks'] as const) submit(phase, ACCEPT)
    await waitFor(actor, (s) => s.matches({ active: { execute: 'running' } }))
    return actor
  }

  return { machine, input, runners, syncCalls, merges, logs, start, live, phaseRunners, taskRunners, liveTasks, runnerOf, events, eventTypes, submit, submitTask, toExecute }
}

/** The snapshot as the host stores it: JSON text, parsed again. */
export const roundTrip = (actor: SpecActor): Snapshot<unknown> => {
  const persisted = actor.getPersistedSnapshot()
  return JSON.parse(JSON.stringify(persisted)) as Snapshot<unknown>
}

// This file is imported by the other spec-machine tests; its own checks are registered only when vitest runs this file.
if (expect.getState().testPath === fileURLToPath(import.meta.url)) describe('spec machine harness', () => {
  it('starts in draft with a fresh context and starts nothing before LAUNCH', () => {
    const h = harness()
    const actor = h.start()
    const s = actor.getSnapshot()
    expect(s.value).toBe('draft')
    expect(s.context.currentPhase).toBe('explore')
    expect(Object.values(s.context.phases).every((p) => p.status === 'pending' && p.attempt === 0)).toBe(true)
    expect(h.runners).toEqual([])
    expect(h.logs).toEqual([])
  })

  it('cancels a draft', () => {
    const h = harness()
    const actor = h.start()
    actor.send({ type: 'CANCEL', by: 'user_1' })
    expect(actor.getSnapshot().value).toBe('cancelled')
    expect(actor.getSnapshot().status).toBe('done')
    expect(h.events('spec.cancelled')[0]?.data).toEqual({ by: 'user_1' })
  })

  it('ignores commands that do not apply to a draft', () => {
    const actor = harness().start()
    for (const e of [
      { type: 'PAUSE', by: 'u' },
      { type: 'RESUME', by: 'u' },
      { type: 'RETRY', by: 'u' },
      { type: 'APPROVE', phase: 'requirements', by: 'u' },
    ] as const) {
      expect(actor.getSnapshot().can(e)).toBe(false)
    }
  })
})
