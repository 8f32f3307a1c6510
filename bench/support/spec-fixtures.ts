import { randomUUID } from 'node:crypto'
import { createActor, fromCallback, fromPromise } from 'xstate'
import type { RunnerInput, SpecEvent, SpecSettings, SyncInput, SyncOutput } from '../../src/actors/machine-types.ts'
import { specMachine } from '../../src/actors/spec-machine.ts'
import type { Exploration, Requirements } from '../../src/schemas/phase-outputs.ts'

/** Phase outputs of a realistic size (what an accepted explore and requirements phase leave in the context). */
export const exploration: Exploration = {
  summary: 'A Hono + PostgreSQL todo service; the change adds due dates and reminders to todo items.',
  tech_stack: ['TypeScript', 'Node 20', 'Hono', 'PostgreSQL', 'vitest'],
  key_files: [
    { path: 'src/todos/routes.ts', purpose: 'REST handlers for todo items' },
    { path: 'src/todos/store.ts', purpose: 'queries on the todos table' },
    { path: 'sql/001_init.sql', purpose: 'database schema' },
  ],
  conventions: ['ESM with .ts imports', 'valibot schemas for every request body', 'tests next to the feature in test/'],
  open_questions: ['Should reminders be sent by email or only shown in the UI?'],
  scope_in: ['due dates on todo items', 'a reminder before the due date'],
  scope_out: ['recurring todos', 'calendar integrations'],
}

export const requirements: Requirements = {
  requirements: [
    {
      id: 'REQ-001',
      title: 'Set a due date on a todo',
      ears: 'WHEN a user saves a todo with a due date, THE todo service SHALL store the due date with the todo.',
      priority: 'must',
      acceptance_criteria: ['PATCH /todos/:id with due_at returns the todo with due_at', 'GET /todos/:id returns the stored due_at'],
    },
    {
      id: 'REQ-002',
      title: 'Reject due dates in the past',
      ears: 'IF a due date lies in the past, THEN THE todo service SHALL reject the request with a 400.',
      priority: 'should',
      acceptance_criteria: ['a due_at before now answers 400 invalid_body', 'the todo is left unchanged'],
    },
    {
      id: 'REQ-003',
      title: 'Remind before the due date',
      ears: 'WHILE a todo is open and due within one hour, THE reminder job SHALL notify its owner once.',
      priority: 'could',
      acceptance_criteria: ['an open todo due in 30 minutes produces one reminder', 'a completed todo produces none'],
    },
  ],
}

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
  actor.send({ type: 'SUBMISSION', phase: 'explore', attempt: 1, resultId: randomUUID(), verdict: accept, output: exploration })
  actor.send({ type: 'SANDBOX_STARTED', sandboxId: 'sbx_bench_requirements', phase: 'requirements', attempt: 1, generation: 0 })
  actor.send({ type: 'SUBMISSION', phase: 'requirements', attempt: 1, resultId: randomUUID(), verdict: accept, output: requirements })
  const snap = actor.getSnapshot()
  if (!snap.matches({ active: { requirements: 'awaiting' } })) {
    throw new Error(`the template spec did not reach active.requirements.awaiting: ${JSON.stringify(snap.value)}`)
  }
  const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()))
  actor.stop()
  return { persisted, value: snap.value, context: snap.context }
}
