/**
 * How the server starts and stops sandboxes. The spec actor talks to sandboxes only through this interface;
 * the local provider (child process) and the Daytona provider implement it.
 */

export interface SandboxSpec {
  /** Our sandbox id (`sbx_…`), also in the sandbox's environment as OMOI_SANDBOX_ID. */
  id: string
  kind: 'phase' | 'task'
  specId: string
  phase?: string
  taskId?: string
  /** The environment of CONTRACT §7, complete: nothing else of the server's is passed. */
  env: Record<string, string>
  repo: {
    /** git URL or absolute local path; null = start from an empty repository. */
    url: string | null
    /** Branch to check out as the base of the work. */
    baseBranch: string
    /** Branch the sandbox works on (tasks: `omoi/<spec>/<task>`; phases: a scratch branch). */
    workBranch: string
    /** Further branches to merge into the work branch before starting (a task's dependencies). */
    mergeBranches: string[]
  }
}

export interface SandboxHandle {
  id: string
  /** Provider-specific reference (pid for local, Daytona sandbox id) kept in the sandboxes row. */
  externalId: string
}

export type SandboxLiveness = 'running' | 'exited' | 'unknown'

export interface SandboxProvider {
  readonly name: 'local' | 'daytona'
  /** How often `status` may be asked: a process check is cheap, a remote API call is not. */
  readonly statusEveryMs: number
  /** Create the sandbox, prepare its workspace, and start the worker in it. */
  start(spec: SandboxSpec): Promise<SandboxHandle>
  /** Is the sandbox (recorded with this external id) still alive? Used to re-attach after a restart. */
  status(handle: SandboxHandle): Promise<SandboxLiveness>
  /** Stop the sandbox and whatever runs in it; stopping one already gone is not an error. */
  stop(handle: SandboxHandle): Promise<void>
  /** Release everything (timers, clients) at shutdown; running sandboxes keep running. */
  close(): Promise<void>
}

/** An error a provider raises with a message fit for a spec event. */
export class SandboxError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SandboxError'
  }
}
