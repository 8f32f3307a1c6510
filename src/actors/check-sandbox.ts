import type { Sql } from '../db/connect.ts'
import { fencedWrite, type Fence } from '../db/actors.ts'
import { endSandbox, insertSandbox, liveCheckSandboxes, markSandboxRunning } from '../db/sandboxes.ts'
import { retryTransient } from '../db/transient.ts'
import { errorMessage } from '../errors.ts'
import { newId } from '../ids.ts'
import { logger } from '../log.ts'
import { SandboxLostError, type SandboxProvider } from '../sandbox/provider.ts'
import { CHECK_TIMEOUT_S, type CheckResult } from '../schemas/task-report.ts'
import { MAX_REPLACEMENTS } from './scheduler.ts'

const log = logger('omoi:check')

export interface CheckSandboxRun {
  specId: string
  /** Which check on the spec branch this is (1, then one more per fix-up run): the sandbox rows' attempt. */
  round: number
  /** The project's repository (git URL or local path), its spec branch and the commit to check. */
  url: string
  branch: string
  commit: string
  command: string
}

/**
 * Runs the check on the spec branch in a sandbox of kind `check`, through the provider: one sandbox row per try (the
 * provider's reference recorded once it exists, ended when the check is done), a sandbox lost under the check replaced
 * up to MAX_REPLACEMENTS times. A check cut short by a restart is not re-attached (its command died with it, or is
 * stopped here): the rows it left are ended and their sandboxes stopped before it runs again. Answers the check's
 * result and the sandbox that ran it; rejects with the provider's error (SandboxError) when no sandbox could run it, and
 * with FencedError when `deps.fence` no longer holds the spec's lease (another node runs it now: it creates or ends no
 * sandbox here).
 */
export async function runCheckSandbox(
  deps: { sql: Sql; provider: SandboxProvider; fence: Fence | null },
  run: CheckSandboxRun,
  signal: AbortSignal,
): Promise<{ check: CheckResult; sandboxId: string }> {
  const db = <T>(what: string, fn: () => Promise<T>) => retryTransient(what, fn, signal)
  for (const row of await db('find earlier check sandboxes', () => liveCheckSandboxes(deps.sql, run.specId))) {
    await db('end an earlier check sandbox', () =>
      fencedWrite(deps.sql, run.specId, deps.fence, (tx) => endSandbox(tx, row.id, 'replaced: the check runs again after a restart')),
    )
    if (!row.external_id) continue
    await deps.provider.stop({ id: row.id, externalId: row.external_id }).catch((err: unknown) => {
      log.warn('could not stop an earlier check sandbox', { sandbox_id: row.id, err })
    })
  }
  for (let generation = 0; ; generation++) {
    const row = await db('insert a check sandbox', () =>
      fencedWrite(deps.sql, run.specId, deps.fence, (tx) => insertSandbox(tx, {
        id: newId('sbx'),
        spec_id: run.specId,
        kind: 'check',
        phase: 'execute',
        task_id: null,
        attempt: run.round,
        generation,
        token_hash: null,
        provider: deps.provider.name,
      })),
    )
    try {
      const check = await deps.provider.runCheck({
        id: row.id,
        specId: run.specId,
        repo: { url: run.url, branch: run.branch, commit: run.commit },
        command: run.command,
        timeoutS: CHECK_TIMEOUT_S,
        onStarted: (handle) => db('mark a check sandbox running', () => markSandboxRunning(deps.sql, row.id, handle.externalId)),
        signal,
      })
      await db('end a check sandbox', () => endSandbox(deps.sql, row.id, 'the check finished'))
      return { check, sandboxId: row.id }
    } catch (err) {
      await endSandbox(deps.sql, row.id, `the check did not finish: ${errorMessage(err)}`).catch(() => {})
      if (signal.aborted || !(err instanceof SandboxLostError) || generation >= MAX_REPLACEMENTS) throw err
      log.warn('check sandbox lost, replacing it', { spec_id: run.specId, sandbox_id: row.id, err })
    }
  }
}
