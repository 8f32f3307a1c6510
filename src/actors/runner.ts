import { setTimeout as sleep } from 'node:timers/promises'
import { fromCallback } from 'xstate'
import { newId, newSecret } from '../ids.ts'
import { logger } from '../log.ts'
import type { Sql } from '../db/connect.ts'
import { endSandbox, findLiveSandbox, findSandbox, hashToken, insertSandbox, markSandboxRunning, type SandboxRow } from '../db/sandboxes.ts'
import type { SandboxProvider } from '../sandbox/provider.ts'
import type { RunnerInput, RunnerTarget, SpecEvent } from './machine-types.ts'
import type { Semaphore } from './serial-queue.ts'
import { resolveRepo, sandboxEnv } from './sandbox-setup.ts'

const log = logger('omoi:runner')

export interface RunnerDeps {
  sql: Sql
  provider: SandboxProvider
  /** The node-wide limit on task sandboxes. */
  taskSlots: Semaphore
  /** True while the host shuts down: sandboxes must survive the restart, so runners do not stop them. */
  shuttingDown: () => boolean
  env: () => { callbackUrl: string; model: { apiKey?: string; baseUrl?: string; name: string }; gitToken?: string }
  dataDir: string
  pollMs?: number
}

const targetOf = (input: RunnerInput): RunnerTarget =>
  input.kind === 'phase'
    ? { phase: input.phase, attempt: input.attempt, generation: input.generation }
    : { task: input.task, attempt: input.attempt, generation: input.generation }

/** Which sandbox row belongs to this runner: one phase attempt or task attempt, one generation. */
const sandboxKey = (input: RunnerInput) => ({
  spec_id: input.specId,
  kind: input.kind,
  name: input.kind === 'phase' ? input.phase : input.task,
  attempt: input.attempt,
  generation: input.generation,
})

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err))

/**
 * The sandbox of one phase attempt or task attempt: re-attaches to the live one if there is one (after a restart),
 * else creates it; then watches it. Reports SANDBOX_STARTED, and SANDBOX_LOST (the worker exited or went silent),
 * SANDBOX_ERROR (could not start) or DEADLINE. Stopping the runner ends the sandbox, except during shutdown.
 */
export function createSandboxRunner(deps: RunnerDeps) {
  const pollMs = deps.pollMs ?? 1000
  return fromCallback<SpecEvent, RunnerInput>(({ input, sendBack }) => {
    const abort = new AbortController()
    const target = targetOf(input)
    let sandbox: SandboxRow | null = null
    let releaseSlot: (() => void) | undefined

    const run = async () => {
      if (input.kind === 'task') releaseSlot = await deps.taskSlots.acquire(abort.signal)
      sandbox = await attachOrStart(deps, input)
      if (abort.signal.aborted) return
      sendBack({ type: 'SANDBOX_STARTED', sandboxId: sandbox.id, ...target })
      const deadline = Date.parse(input.deadline)
      for (;;) {
        await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), undefined, { signal: abort.signal })
        if (Date.now() >= deadline) return sendBack({ type: 'DEADLINE', ...target })
        const row = await findSandbox(deps.sql, sandbox.id)
        if (!row || row.status === 'ended') return
        const liveness = await deps.provider.status({ id: row.id, externalId: row.external_id ?? '' })
        if (liveness === 'exited') return sendBack({ type: 'SANDBOX_LOST', reason: 'the worker process exited', ...target })
        const heard = (row.last_heartbeat_at ?? row.created_at).getTime()
        if (Date.now() - heard > input.silenceMs) {
          return sendBack({ type: 'SANDBOX_LOST', reason: `no heartbeat for ${Math.round(input.silenceMs / 1000)} s`, ...target })
        }
      }
    }

    run().catch((err) => {
      if (abort.signal.aborted) return
      log.warn('sandbox runner failed', { spec_id: input.specId, target, err })
      sendBack({ type: 'SANDBOX_ERROR', error: errorMessage(err), ...target })
    })

    return () => {
      abort.abort()
      releaseSlot?.()
      if (deps.shuttingDown()) return
      // the sandbox may still be in creation: end whatever this attempt has once that settles
      void stopLater(deps, input)
    }
  })
}

async function attachOrStart(deps: RunnerDeps, input: RunnerInput): Promise<SandboxRow> {
  const key = sandboxKey(input)
  const existing = await findLiveSandbox(deps.sql, key)
  if (existing?.status === 'running' && existing.external_id) {
    const liveness = await deps.provider.status({ id: existing.id, externalId: existing.external_id })
    if (liveness !== 'exited') return existing
  }
  if (existing) await endSandbox(deps.sql, existing.id, 'replaced: not alive after a restart')

  const token = newSecret()
  const row = await insertSandbox(deps.sql, {
    id: newId('sbx'),
    spec_id: input.specId,
    kind: input.kind,
    phase: input.kind === 'phase' ? input.phase : 'execute',
    task_id: input.kind === 'task' ? input.task : null,
    attempt: input.attempt,
    generation: input.generation,
    token_hash: hashToken(token),
    provider: deps.provider.name,
  })
  try {
    const repo = await resolveRepo(deps.sql, deps.dataDir, input)
    const handle = await deps.provider.start({
      id: row.id,
      kind: input.kind,
      specId: input.specId,
      ...(input.kind === 'phase' ? { phase: input.phase } : { taskId: input.task }),
      env: sandboxEnv(deps.env(), row.id, token, input),
      repo,
    })
    await markSandboxRunning(deps.sql, row.id, handle.externalId)
    return { ...row, status: 'running', external_id: handle.externalId }
  } catch (err) {
    await endSandbox(deps.sql, row.id, `could not start: ${errorMessage(err)}`)
    throw err
  }
}

/** Ends the attempt's sandbox once any creation in flight has settled, and stops it at the provider. */
async function stopLater(deps: RunnerDeps, input: RunnerInput): Promise<void> {
  const key = sandboxKey(input)
  try {
    for (let i = 0; i < 100; i++) {
      const row = await findLiveSandbox(deps.sql, key)
      if (!row) return
      if (row.status === 'starting') {
        await sleep(200)
        continue
      }
      await endSandbox(deps.sql, row.id, 'stopped by the spec')
      // a moment for the worker to post its last events before it is stopped
      await sleep(2000)
      if (row.external_id) await deps.provider.stop({ id: row.id, externalId: row.external_id })
      return
    }
  } catch (err) {
    log.warn('could not stop a sandbox', { spec_id: input.specId, err })
  }
}
