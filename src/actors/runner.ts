import { setTimeout as sleep } from 'node:timers/promises'
import { fromCallback } from 'xstate'
import { errorMessage } from '../errors.ts'
import { hashToken, newId, newSecret } from '../ids.ts'
import { logger } from '../log.ts'
import type { Sql } from '../db/connect.ts'
import { FencedError, fencedWrite, type Fence } from '../db/actors.ts'
import { isTransientDbError, markDown, markUp, retryTransient } from '../db/transient.ts'
import { countLiveTaskSandboxes, endSandbox, findLiveSandbox, findSandbox, insertSandbox, markSandboxRunning, type SandboxRow } from '../db/sandboxes.ts'
import type { SandboxProvider } from '../sandbox/provider.ts'
import type { RunnerInput, RunnerTarget, SpecEvent } from './machine-types.ts'
import type { Semaphore } from './serial-queue.ts'
import { resolveRepo, sandboxEnv } from './sandbox-setup.ts'
import type { SandboxEnds } from './sandbox-ends.ts'

const log = logger('omoi:runner')

export interface RunnerDeps {
  sql: Sql
  provider: SandboxProvider
  /** The node-wide limit on task sandboxes. */
  taskSlots: Semaphore
  /** Task sandboxes per spec at once (OMOI_TASK_CONCURRENCY), counted from the sandbox rows. */
  taskConcurrency: number
  /**
   * True when a stopping runner must leave its sandbox alone: the host shuts down (sandboxes outlive a restart), or this
   * node's copy of the spec is being dropped because another node took it over (the new owner re-attaches to them).
   */
  keepSandboxes: (specId: string) => boolean
  /** Resolves once the spec's queued writes have landed: a runner reports nothing while its actor is held. */
  settled: (specId: string) => Promise<void>
  /** This node's lease on the spec (DESIGN §4), or null once its copy is gone: a sandbox is created only under it. */
  fence: (specId: string) => Fence | null
  /** A sandbox write under this epoch was refused by the fence: that copy of the spec is stale and must stop at once. */
  fenced: (specId: string, epoch: number) => void
  stops: SandboxStops
  /** Told the moment a sandbox is stopped, before its end is stored: its model calls on this node are cut at once. */
  ends: SandboxEnds
  env: () => { callbackUrl: string; model: { apiKey?: string; baseUrl?: string; name: string }; gitToken?: string }
  dataDir: string
  pollMs?: number
}

const targetOf = (input: RunnerInput): RunnerTarget =>
  input.kind === 'phase'
    ? { phase: input.phase, attempt: input.attempt, generation: input.generation }
    : { task: input.task, attempt: input.attempt, generation: input.generation }

/** Generations a fix-up run's sandboxes are numbered from: above every replacement of the run before it. */
const FIXUP_GENERATIONS = 100

/**
 * Which sandbox row belongs to this runner: one phase attempt or task attempt, one generation. A task's merge fix-up
 * runs are the same attempt; their rows count generations from `fixup * FIXUP_GENERATIONS` so none re-attaches another.
 */
const sandboxKey = (input: RunnerInput) => ({
  spec_id: input.specId,
  kind: input.kind,
  name: input.kind === 'phase' ? input.phase : input.task,
  attempt: input.attempt,
  generation: input.generation + FIXUP_GENERATIONS * (input.fixup ?? 0),
})

/**
 * Sandbox stops under way. At shutdown they are finished at once (no grace) and awaited, so none runs against a
 * closed database or leaves a sandbox behind.
 */
export class SandboxStops {
  private pending = new Set<Promise<void>>()
  private readonly hurry = new AbortController()

  get signal(): AbortSignal {
    return this.hurry.signal
  }

  add(stop: Promise<void>): void {
    this.pending.add(stop)
    void stop.finally(() => this.pending.delete(stop))
  }

  async drain(): Promise<void> {
    this.hurry.abort()
    await Promise.allSettled([...this.pending])
  }
}

/** How long an ended sandbox's worker may go on (to post its last events) before it is stopped. */
const STOP_GRACE_MS = 2000

/**
 * The sandbox of one phase attempt or task attempt: re-attaches to the live one if there is one (after a restart),
 * else creates it; then watches it. Reports SANDBOX_STARTED, and SANDBOX_LOST (the worker exited, went silent, or its
 * sandbox was ended behind the runner's back), SANDBOX_ERROR (could not start) or DEADLINE. Stopping the runner ends
 * its own sandbox (once a creation in flight settles), except during shutdown: sandboxes outlive a restart.
 */
export function createSandboxRunner(deps: RunnerDeps) {
  const pollMs = deps.pollMs ?? 1000
  return fromCallback<SpecEvent, RunnerInput>(({ input, sendBack }) => {
    const abort = new AbortController()
    const target = targetOf(input)
    // the lease of the copy that started this runner: a copy attached later (a new epoch) has runners of its own
    const fence = deps.fence(input.specId)
    let releaseSlot: (() => void) | undefined
    // the actor is held while a transition waits for the database: report only once it has been stored
    const report = (event: SpecEvent) =>
      void deps.settled(input.specId).then(() => {
        if (!abort.signal.aborted) sendBack(event)
      })

    const created = (async () => {
      if (input.kind === 'task') releaseSlot = await deps.taskSlots.acquire(abort.signal)
      return attachOrStart(deps, input, fence, abort.signal)
    })()

    const watch = async (found: SandboxRow | Lost) => {
      if (abort.signal.aborted) return
      if ('lost' in found) return report({ type: 'SANDBOX_LOST', reason: found.lost, ...target })
      const sandbox = found
      report({ type: 'SANDBOX_STARTED', sandboxId: sandbox.id, ...target })
      const deadline = Date.parse(input.deadline)
      let statusAt = 0
      // Silence is measured only while this server could hear the worker: from when this runner began listening (a
      // restart starts it afresh) and again from when the database came back after an outage.
      let listeningSince = Date.now()
      let outage = false
      for (;;) {
        await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), undefined, { signal: abort.signal })
        if (Date.now() >= deadline) return report({ type: 'DEADLINE', ...target })
        let row: SandboxRow | null
        try {
          row = await findSandbox(deps.sql, sandbox.id)
        } catch (err) {
          if (!isTransientDbError(err)) throw err
          markDown()
          outage = true
          continue
        }
        if (outage) {
          markUp()
          outage = false
          listeningSince = Date.now()
        }
        if (abort.signal.aborted) return
        if (!row || row.status === 'ended') return report({ type: 'SANDBOX_LOST', reason: 'the sandbox was ended', ...target })
        if (Date.now() - statusAt >= deps.provider.statusEveryMs) {
          statusAt = Date.now()
          const liveness = await deps.provider.status({ id: row.id, externalId: row.external_id ?? '' })
          if (liveness === 'exited') return report({ type: 'SANDBOX_LOST', reason: 'the worker process exited', ...target })
        }
        const heard = Math.max((row.last_heartbeat_at ?? row.created_at).getTime(), listeningSince)
        if (Date.now() - heard > input.silenceMs) {
          return report({ type: 'SANDBOX_LOST', reason: `no heartbeat for ${Math.round(input.silenceMs / 1000)} s`, ...target })
        }
      }
    }

    created.then(watch).catch((err) => {
      if (err instanceof FencedError) return fence && deps.fenced(input.specId, fence.epoch)
      if (abort.signal.aborted) return
      log.warn('sandbox runner failed', { spec_id: input.specId, target, err })
      report({ type: 'SANDBOX_ERROR', error: errorMessage(err), ...target })
    })

    return () => {
      abort.abort()
      releaseSlot?.()
      if (deps.keepSandboxes(input.specId)) return
      deps.stops.add(
        created.then(
          (sandbox) => ('lost' in sandbox ? undefined : stopSandbox(deps, sandbox)),
          () => {},
        ),
      )
    }
  })
}

/** The spec's task concurrency counts sandbox rows: wait until one of them has ended. */
async function waitForSpecSlot(deps: RunnerDeps, specId: string, signal: AbortSignal): Promise<void> {
  while ((await retryTransient('count task sandboxes', () => countLiveTaskSandboxes(deps.sql, specId), signal)) >= deps.taskConcurrency) {
    await sleep(100, undefined, { signal })
  }
}

/** A sandbox found dead where one should run: the machine replaces it with the next generation. */
interface Lost {
  lost: string
}

async function attachOrStart(deps: RunnerDeps, input: RunnerInput, fence: Fence | null, signal: AbortSignal): Promise<SandboxRow | Lost> {
  const key = sandboxKey(input)
  // every database step waits out an outage: a database blip is never why a sandbox "could not start"
  const db = <T>(what: string, fn: () => Promise<T>) => retryTransient(what, fn, signal)
  // the transition that asked for this sandbox is stored first: the database is never behind a running sandbox
  await deps.settled(input.specId)
  signal.throwIfAborted()
  const existing = await db('find the live sandbox', () => findLiveSandbox(deps.sql, key))
  if (existing?.status === 'running' && existing.external_id) {
    const liveness = await deps.provider.status({ id: existing.id, externalId: existing.external_id })
    if (liveness !== 'exited') return existing
  }
  if (existing) {
    // one row per (work, attempt, generation): a dead one is replaced by the machine, under the next generation
    const reason = existing.status === 'running' ? 'its worker did not survive a restart' : 'it was still starting when its node stopped'
    await db('end a dead sandbox', () => fencedWrite(deps.sql, input.specId, fence, (tx) => endSandbox(tx, existing.id, `replaced: ${reason}`)))
    return { lost: reason }
  }
  if (input.kind === 'task') await waitForSpecSlot(deps, input.specId, signal)

  const token = newSecret()
  const row = await db('insert a sandbox', () => fencedWrite(deps.sql, input.specId, fence, (tx) => insertSandbox(tx, {
    id: newId('sbx'),
    spec_id: input.specId,
    kind: input.kind,
    phase: input.kind === 'phase' ? input.phase : 'execute',
    task_id: input.kind === 'task' ? input.task : null,
    attempt: input.attempt,
    generation: key.generation,
    token_hash: hashToken(token),
    provider: deps.provider.name,
  })))
  try {
    const repo = await db('resolve the repository', () => resolveRepo(deps.sql, deps.dataDir, input))
    const handle = await deps.provider.start({
      id: row.id,
      kind: input.kind,
      specId: input.specId,
      ...(input.kind === 'phase' ? { phase: input.phase } : { taskId: input.task }),
      env: sandboxEnv(deps.env(), row.id, token, input),
      repo,
    })
    await db('mark a sandbox running', () => markSandboxRunning(deps.sql, row.id, handle.externalId))
    return { ...row, status: 'running', external_id: handle.externalId }
  } catch (err) {
    await db('end a sandbox that could not start', () => endSandbox(deps.sql, row.id, `could not start: ${errorMessage(err)}`))
    throw err
  }
}

/** Ends this runner's sandbox (its token dies at once) and, after a moment for its last events, stops it. */
async function stopSandbox(deps: RunnerDeps, sandbox: SandboxRow): Promise<void> {
  deps.ends.end(sandbox.id)
  try {
    await retryTransient('end a stopped sandbox', () => endSandbox(deps.sql, sandbox.id, 'stopped by the spec'), deps.stops.signal)
    await sleep(STOP_GRACE_MS, undefined, { signal: deps.stops.signal }).catch(() => {})
    if (sandbox.external_id) await deps.provider.stop({ id: sandbox.id, externalId: sandbox.external_id })
  } catch (err) {
    log.warn('could not stop a sandbox', { spec_id: sandbox.spec_id, sandbox_id: sandbox.id, err })
  }
}
