/**
 * The Daytona sandbox provider: one Daytona sandbox per omoi sandbox, found again by the `omoi.sandbox` label.
 * Its workspace is a clone of the project's repository on the work branch; the worker bundle runs there as an async
 * session command, so the worker's liveness is that command's. A check sandbox (`runCheck`) has no worker: the check
 * command runs there as a synchronous session command, and the sandbox is deleted once it has answered.
 */
import { isAbsolute } from 'node:path'
import {
  Daytona,
  DaytonaAuthenticationError,
  DaytonaConnectionError,
  DaytonaError,
  DaytonaForbiddenError,
  DaytonaGitAuthFailedError,
  DaytonaNotFoundError,
  DaytonaRateLimitError,
  DaytonaTimeoutError,
  type Sandbox,
} from '@daytonaio/sdk'
import { logger } from '../log.ts'
import type { CheckResult } from '../schemas/task-report.ts'
import { head } from '../schemas/text.ts'
import { checkResult } from './worker/check.ts'
import { SHELL_FLAGS } from './worker/command.ts'
import {
  SandboxError,
  SandboxLostError,
  type CheckRun,
  type SandboxHandle,
  type SandboxLiveness,
  type SandboxProvider,
  type SandboxSpec,
} from './provider.ts'

const log = logger('omoi:sandbox:daytona')

/**
 * Daytona stops a sandbox after this many minutes without SDK or toolbox activity (status()'s toolbox call is some),
 * and deletes it this many minutes after it stopped: if the server vanishes, nothing is left running or kept.
 */
const AUTO_STOP_MINUTES = 30
const AUTO_DELETE_MINUTES = 60
/** Creation includes pulling the snapshot on a cold runner, which can outlast the SDK's 60 s default. */
const CREATE_TIMEOUT_SECONDS = 180
const ID_LABEL = 'omoi.sandbox'
const SETUP_SESSION = 'omoi-setup'
const WORKER_SESSION = 'omoi-worker'
const CHECK_SESSION = 'omoi-check'
/** The check's output is cut to its last bytes inside the sandbox, so a chatty check sends little over the API. */
const CHECK_OUTPUT_BYTES = 64 * 1024
/** `timeout` exits so when it ended the command (124: TERM, 137: KILL after the grace). */
const TIMED_OUT = new Set([124, 137])
/** GitHub's user name for token auth; other hosts accept any name with a token as the password. */
const GIT_USERNAME = 'x-access-token'
const DELETED_STATES = new Set(['destroyed', 'destroying'])
/** States in which the worker cannot be running any more. */
const GONE_STATES = new Set([...DELETED_STATES, 'stopped', 'stopping', 'archived', 'archiving', 'error', 'build_failed'])

export interface DaytonaProviderOptions {
  apiKey: string
  apiUrl?: string
  target?: string
  /** Local path of the bundled worker, uploaded into every sandbox. */
  workerBundlePath: string
  /** Token for cloning private repositories; passed to Daytona's git API, never put into a URL. */
  gitToken?: string
}

export interface DaytonaProvider extends SandboxProvider {
  /** The live Daytona sandbox labelled with our sandbox id, for when its external id was never recorded. */
  findSandboxByLabel(sandboxId: string): Promise<SandboxHandle | null>
}

export function createDaytonaProvider(opts: DaytonaProviderOptions): DaytonaProvider {
  if (!opts.apiKey) throw new SandboxError('DAYTONA_API_KEY is not set: the Daytona sandbox provider needs an API key')
  const daytona = new Daytona({ apiKey: opts.apiKey, apiUrl: opts.apiUrl, target: opts.target })
  const secrets = [opts.apiKey, opts.gitToken]
  const credentials = opts.gitToken ? ([GIT_USERNAME, opts.gitToken] as const) : ([undefined, undefined] as const)

  async function labelled(sandboxId: string): Promise<Sandbox[]> {
    const found: Sandbox[] = []
    for await (const sandbox of daytona.list({ labels: { [ID_LABEL]: sandboxId } })) {
      if (!DELETED_STATES.has(sandbox.state ?? '')) found.push(sandbox)
    }
    return found
  }

  async function lookup(handle: SandboxHandle): Promise<Sandbox | null> {
    if (!handle.externalId) return (await labelled(handle.id))[0] ?? null
    try {
      return await daytona.get(handle.externalId)
    } catch (err) {
      if (err instanceof DaytonaNotFoundError) return null
      throw err
    }
  }

  async function prepare(sandbox: Sandbox, spec: SandboxSpec): Promise<void> {
    const { url, baseBranch, workBranch, mergeBranches } = spec.repo
    const home = await sandbox.getWorkDir()
    if (!home) throw new SandboxError('Daytona could not prepare the workspace: the sandbox reported no working directory')
    const workspace = `${home}/workspace`
    const bundle = `${home}/omoi-worker.mjs`
    await sandbox.process.createSession(SETUP_SESSION)
    const run = async (what: string, command: string) => {
      const result = await sandbox.process.executeSessionCommand(SETUP_SESSION, { command })
      if (result.exitCode !== 0) {
        const output = oneLine(result.output || result.stderr, 'last')
        throw new SandboxError(redact(`Daytona could not prepare the workspace: ${what} failed: ${output}`, secrets))
      }
    }
    if (url === null) {
      await run('git init', `git init -q -b ${sh(baseBranch)} ${sh(workspace)}`)
    } else {
      await sandbox.git.clone(url, workspace, baseBranch, undefined, ...credentials)
    }
    await run(`creating branch ${workBranch}`, `cd ${sh(workspace)} && git checkout -q -B ${sh(workBranch)}`)
    if (url !== null && mergeBranches.length > 0) {
      // Daytona clones a single branch, and fetching more would need the token inside the sandbox: clone each branch
      // to merge on its own (credentials go through the git API only) and merge from that local copy.
      for (const [i, branch] of mergeBranches.entries()) {
        const copy = `${home}/.omoi-merge/${i}`
        await sandbox.git.clone(url, copy, branch, undefined, ...credentials)
        await run(
          `merging ${branch}`,
          `cd ${sh(workspace)} && git fetch -q ${sh(copy)} ${sh(branch)} && ` +
            `git -c user.name=omoi -c user.email=omoi@localhost merge -q --no-edit FETCH_HEAD`,
        )
      }
      await run('cleaning up', `rm -rf ${sh(`${home}/.omoi-merge`)}`)
    }
    await sandbox.fs.uploadFile(opts.workerBundlePath, bundle)
    await sandbox.process.createSession(WORKER_SESSION)
    await sandbox.process.executeSessionCommand(WORKER_SESSION, {
      command: `cd ${sh(workspace)} && exec node ${sh(bundle)}`,
      runAsync: true,
    })
  }

  /** Clones the spec branch, resets it to the commit and runs the check command in the sandbox, time-limited. */
  async function checkIn(sandbox: Sandbox, run: CheckRun): Promise<CheckResult> {
    const home = await sandbox.getWorkDir()
    if (!home) throw new SandboxError('Daytona could not prepare the check: the sandbox reported no working directory')
    const workspace = `${home}/workspace`
    await sandbox.git.clone(run.repo.url, workspace, run.repo.branch, undefined, ...credentials)
    await sandbox.process.createSession(CHECK_SESSION)
    const reset = await sandbox.process.executeSessionCommand(CHECK_SESSION, {
      command: `cd ${sh(workspace)} && git checkout -q -B ${sh(run.repo.branch)} ${sh(run.repo.commit)}`,
    })
    if (reset.exitCode !== 0) {
      const output = oneLine(reset.output || reset.stderr, 'last')
      throw new SandboxError(redact(`Daytona could not prepare the check: checking out ${run.repo.commit} failed: ${output}`, secrets))
    }
    // the shell the agent's run_command had in this image (shellArgs), so a check passes there as it passed for the agent
    const inner = `timeout -k 5 ${run.timeoutS} bash ${SHELL_FLAGS.join(' ')} ${sh(run.command)} 2>&1 | tail -c ${CHECK_OUTPUT_BYTES}; exit "\${PIPESTATUS[0]}"`
    const started = Date.now()
    const result = await sandbox.process.executeSessionCommand(
      CHECK_SESSION,
      { command: `cd ${sh(workspace)} && bash -c ${sh(inner)}` },
      run.timeoutS + 60,
    )
    const duration = Date.now() - started
    const exitCode = result.exitCode ?? null
    const timedOut = exitCode !== null && TIMED_OUT.has(exitCode) && duration >= run.timeoutS * 1000
    return checkResult(run.command, timedOut ? null : exitCode, result.output ?? result.stdout ?? '', duration)
  }

  /** After a failed call: is the sandbox gone (deleted, stopped) rather than the call refused? */
  async function gone(handle: SandboxHandle): Promise<boolean> {
    const sandbox = await lookup(handle).catch(() => undefined)
    return sandbox === null || (sandbox !== undefined && GONE_STATES.has(sandbox.state ?? ''))
  }

  /** The sandbox runs as long as the worker command does; a restarted sandbox has lost its sessions. */
  async function workerLiveness(sandbox: Sandbox): Promise<SandboxLiveness> {
    try {
      const session = await sandbox.process.getSession(WORKER_SESSION)
      const worker = session.commands.at(-1)
      return worker && worker.exitCode == null ? 'running' : 'exited'
    } catch (err) {
      return err instanceof DaytonaNotFoundError ? 'exited' : 'unknown'
    }
  }

  return {
    name: 'daytona',
    // each status is an API call (and counts as activity for Daytona's auto-stop)
    statusEveryMs: 15_000,

    async start(spec) {
      if (spec.repo.url !== null && isLocalPath(spec.repo.url)) {
        throw new SandboxError(`Daytona sandboxes clone over the network; the repository ${spec.repo.url} is a local path`)
      }
      let sandbox: Sandbox
      try {
        // A start cut short by a restart may have left a sandbox with this id behind: one worker per sandbox id.
        for (const leftover of await labelled(spec.id)) await leftover.delete()
        sandbox = await daytona.create(
          {
            envVars: spec.env,
            labels: labelsOf(spec),
            autoStopInterval: AUTO_STOP_MINUTES,
            autoDeleteInterval: AUTO_DELETE_MINUTES,
          },
          { timeout: CREATE_TIMEOUT_SECONDS },
        )
      } catch (err) {
        throw toSandboxError('create the sandbox', err, secrets)
      }
      try {
        await prepare(sandbox, spec)
      } catch (err) {
        await sandbox.delete().catch((cleanup: unknown) => {
          const error = toSandboxError('delete the sandbox', cleanup, secrets).message
          log.warn('could not delete a sandbox whose start failed', { sandboxId: spec.id, externalId: sandbox.id, error })
        })
        throw toSandboxError('prepare the workspace', err, secrets)
      }
      log.info('sandbox started', { sandboxId: spec.id, externalId: sandbox.id })
      return { id: spec.id, externalId: sandbox.id }
    },

    async status(handle) {
      let sandbox: Sandbox | null
      try {
        sandbox = await lookup(handle)
      } catch (err) {
        const error = toSandboxError('look up the sandbox', err, secrets).message
        log.warn('could not ask Daytona for a sandbox', { sandboxId: handle.id, error })
        return 'unknown'
      }
      if (!sandbox) return 'exited'
      if (sandbox.state === 'started') return workerLiveness(sandbox)
      return GONE_STATES.has(sandbox.state ?? '') ? 'exited' : 'unknown'
    },

    async stop(handle) {
      try {
        const sandbox = await lookup(handle)
        if (sandbox) await sandbox.delete()
      } catch (err) {
        if (err instanceof DaytonaNotFoundError) return
        throw toSandboxError('delete the sandbox', err, secrets)
      }
    },

    async runCheck(run) {
      if (isLocalPath(run.repo.url)) {
        throw new SandboxError(`Daytona sandboxes clone over the network; the repository ${run.repo.url} is a local path`)
      }
      let sandbox: Sandbox
      try {
        for (const leftover of await labelled(run.id)) await leftover.delete()
        sandbox = await daytona.create(
          {
            envVars: { OMOI_SANDBOX_ID: run.id, SPEC_ID: run.specId },
            labels: { [ID_LABEL]: run.id, 'omoi.spec': run.specId, 'omoi.kind': 'check' },
            autoStopInterval: AUTO_STOP_MINUTES,
            autoDeleteInterval: AUTO_DELETE_MINUTES,
          },
          { timeout: CREATE_TIMEOUT_SECONDS },
        )
      } catch (err) {
        throw toSandboxError('create the sandbox', err, secrets)
      }
      const handle = { id: run.id, externalId: sandbox.id }
      const stop = () => void sandbox.delete().catch(() => {})
      run.signal.addEventListener('abort', stop, { once: true })
      try {
        await run.onStarted(handle)
        return await checkIn(sandbox, run)
      } catch (err) {
        if (run.signal.aborted) throw new SandboxError('the check was stopped')
        if (!(err instanceof SandboxError) && (await gone(handle))) {
          throw new SandboxLostError(`the check's Daytona sandbox went away: ${toSandboxError('run the check', err, secrets).message}`)
        }
        throw toSandboxError('run the check', err, secrets)
      } finally {
        run.signal.removeEventListener('abort', stop)
        await sandbox.delete().catch((err: unknown) => {
          if (err instanceof DaytonaNotFoundError) return
          log.warn('could not delete a check sandbox', { sandboxId: run.id, error: toSandboxError('delete the sandbox', err, secrets).message })
        })
      }
    },

    async findSandboxByLabel(sandboxId) {
      try {
        const [sandbox] = await labelled(sandboxId)
        return sandbox ? { id: sandboxId, externalId: sandbox.id } : null
      } catch (err) {
        throw toSandboxError('look up the sandbox', err, secrets)
      }
    },

    async close() {
      await daytona[Symbol.asyncDispose]()
    },
  }
}

function labelsOf(spec: SandboxSpec): Record<string, string> {
  const labels: Record<string, string> = { [ID_LABEL]: spec.id, 'omoi.spec': spec.specId, 'omoi.kind': spec.kind }
  if (spec.phase) labels['omoi.phase'] = spec.phase
  if (spec.taskId) labels['omoi.task'] = spec.taskId
  return labels
}

/** A one-line message fit for a spec event: no stack, no secrets. */
function toSandboxError(action: string, err: unknown, secrets: Array<string | undefined>): SandboxError {
  if (err instanceof SandboxError) return err
  return new SandboxError(explain(action, err, secrets), { cause: err })
}

function explain(action: string, err: unknown, secrets: Array<string | undefined>): string {
  const reason = redact(oneLine(err instanceof Error ? err.message : String(err), 'first'), secrets)
  if (err instanceof DaytonaGitAuthFailedError) {
    return `The git host refused the credentials while Daytona tried to ${action}: check the git token`
  }
  if (err instanceof DaytonaAuthenticationError) return 'Daytona refused the API key (401): check DAYTONA_API_KEY'
  if (err instanceof DaytonaForbiddenError) return `Daytona did not allow this API key to ${action} (403): ${reason}`
  if (err instanceof DaytonaRateLimitError) return `Daytona rate-limited the request to ${action} (429): try again later`
  if (err instanceof DaytonaTimeoutError) return `Daytona timed out trying to ${action}`
  if (err instanceof DaytonaConnectionError) {
    return `Daytona could not be reached to ${action}: ${reason} (check DAYTONA_API_URL)`
  }
  const status = err instanceof DaytonaError && err.statusCode ? ` (${err.statusCode})` : ''
  return `Daytona could not ${action}${status}: ${reason}`
}

function isLocalPath(url: string): boolean {
  return isAbsolute(url) || url.startsWith('.') || url.startsWith('file:')
}

/** Single-quoted for sh. */
function sh(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`
}

function oneLine(text: string | undefined, which: 'first' | 'last'): string {
  const lines = (text ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '')
  return head((which === 'first' ? lines[0] : lines.at(-1)) ?? 'no output', 300)
}

function redact(text: string, secrets: Array<string | undefined>): string {
  return secrets.reduce<string>((out, secret) => (secret ? out.replaceAll(secret, '***') : out), text)
}
