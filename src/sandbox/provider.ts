import type { CheckResult } from '../schemas/task-report.ts'

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

/** One run of a project's check command on a commit of the spec branch, in a sandbox made for it alone. */
export interface CheckRun {
  /** Our sandbox id (`sbx_…`), in the check's environment as OMOI_SANDBOX_ID. */
  id: string
  specId: string
  repo: {
    /** git URL or absolute local path. */
    url: string
    /** The branch checked out (the spec branch), reset to `commit`. */
    branch: string
    commit: string
  }
  /** Run with bash in the working copy. */
  command: string
  /** Past this many seconds the command and all it started are killed: exit_code null, not passed. */
  timeoutS: number
  /** Told the sandbox's provider reference once it exists, before the command starts. */
  onStarted(handle: SandboxHandle): Promise<void>
  /** Aborting stops the sandbox; the run then rejects. */
  signal: AbortSignal
}

export type SandboxLiveness = 'running' | 'exited' | 'unknown'

export interface SandboxProvider {
  readonly name: 'local' | 'daytona'
  /** How often `status` may be asked: a process check is cheap, a remote API call is not. */
  readonly statusEveryMs: number
  /**
   * The URL its sandboxes call the server back on, when the provider brings its own way there (local bubblewrap
   * sandboxes: the server's unix socket, src/sandbox/callback-socket.ts); undefined: OMOI_PUBLIC_URL's /api/v1.
   */
  readonly callbackUrl?: string
  /** Create the sandbox, prepare its workspace, and start the worker in it. */
  start(spec: SandboxSpec): Promise<SandboxHandle>
  /** Is the sandbox (recorded with this external id) still alive? Used to re-attach after a restart. */
  status(handle: SandboxHandle): Promise<SandboxLiveness>
  /** Stop the sandbox and whatever runs in it; stopping one already gone is not an error. */
  stop(handle: SandboxHandle): Promise<void>
  /**
   * Makes a sandbox with a working copy of `run.repo`, runs the check command there (time limit `run.timeoutS`, output
   * tail capped at CHECK_OUTPUT_CAP code points), removes the sandbox and answers what happened. Rejects with
   * SandboxLostError when the sandbox went away under the command, with SandboxError when it could not be made.
   */
  runCheck(run: CheckRun): Promise<CheckResult>
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

/** The sandbox went away while it worked (killed, deleted): a new one may do the same work. */
export class SandboxLostError extends SandboxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SandboxLostError'
  }
}
