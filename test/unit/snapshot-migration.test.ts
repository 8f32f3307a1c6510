import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { waitFor, type Snapshot } from 'xstate'
import { migrateSnapshot } from '../../src/actors/snapshot-migration.ts'
import { ACCEPT, harness, roundTrip } from './spec-machine-harness.test.ts'

/**
 * Snapshots the spec machine of an omoi from before one spec branch per spec persisted (fixture written by that
 * machine: two quick tasks, TSK-001 completed on its own branch, TSK-002 running, then paused, or failed after its
 * retries) go on in today's execute state, with TSK-001's work merged into the spec branch first.
 */
const old = JSON.parse(readFileSync(new URL('../fixtures/snapshots/before-spec-branch.json', import.meta.url), 'utf8')) as Record<
  'mid' | 'paused' | 'failed',
  Snapshot<unknown>
>
const restore = (which: keyof typeof old) => migrateSnapshot(structuredClone(old[which])) as Snapshot<unknown>

describe('restoring a snapshot from before one spec branch per spec', () => {
  it('mid-execution: the spec branch is made, TSK-001 merged into it, TSK-002 runs on in its sandbox, the spec completes', async () => {
    const h = harness({ kind: 'quick' })
    const actor = h.start(restore('mid'))
    await waitFor(actor, (s) => s.matches({ active: { execute: 'running' } }))
    expect(h.merges).toEqual([expect.objectContaining({ task: 'TSK-001', attempt: 1, fixup: 0, commit: 'COMMIT_OF_TSK_001', specBranch: 'omoi/x/spec' })])
    // one runner for TSK-002, keyed as before (attempt 1, generation 0): it re-attaches to the sandbox it had
    expect(h.runnerOf({ task: 'TSK-002' }).input).toMatchObject({ attempt: 1, generation: 0, fixup: 0, baseBranch: 'omoi/x/spec' })
    h.submitTask('TSK-002', ACCEPT)
    await waitFor(actor, (s) => s.matches('completed'))
    expect(h.events('spec.task_completed').map((l) => l.data.task_id)).toEqual(['TSK-001', 'TSK-002'])
  })

  it('failed after its retries: a retry makes the spec branch, merges TSK-001 and runs TSK-002 again', async () => {
    const h = harness({ kind: 'quick' })
    const actor = h.start(restore('failed'))
    expect(actor.getSnapshot().value).toBe('failed')
    actor.send({ type: 'RETRY', by: 'user_1' })
    await waitFor(actor, (s) => s.matches({ active: { execute: 'running' } }))
    expect(h.merges.map((m) => [m.task, m.commit])).toEqual([['TSK-001', 'COMMIT_OF_TSK_001']])
    expect(h.runnerOf({ task: 'TSK-002' }).input).toMatchObject({ attempt: 4, baseBranch: 'omoi/x/spec' })
    h.submitTask('TSK-002', ACCEPT)
    await waitFor(actor, (s) => s.matches('completed'))
  })

  it('leaves a snapshot of today as it is', async () => {
    const h = harness({ kind: 'quick' })
    const actor = h.start()
    actor.send({ type: 'LAUNCH', by: 'user_1', quickTasks: [{ key: 'TSK-001', ticket: 'TKT-001', title: 'One' }] })
    await waitFor(actor, (s) => s.matches({ active: { execute: 'running' } }))
    const today = roundTrip(actor)
    expect(migrateSnapshot(today)).toBe(today)
  })
})
