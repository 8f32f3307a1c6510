import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { CHECK_OUTPUT_CAP } from '../schemas/task-report.ts'
import type { CheckResult } from '../schemas/task-report.ts'
import { tail } from '../schemas/text.ts'
import { checkResult } from './worker/check.ts'
import { killGroup, shellArgs } from './worker/command.ts'
import { commandArgs, type Isolation } from './bwrap.ts'
import { spawnConfined } from './confined-spawn.ts'
import { SandboxError, SandboxLostError, type CheckRun } from './provider.ts'
import { sandboxPath } from './sandbox-path.ts'

/**
 * Starts the check: in bubblewrap, with a network namespace as an agent's sandbox has (src/sandbox/network.ts) but no
 * server socket, its resolver file beside the working copy; or unconfined. Detached (a process group of its own).
 */
async function startCheck(workspace: string, isolation: Isolation, run: CheckRun, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const stdio: ('ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe']
  if (isolation.kind === 'none') return spawn('bash', shellArgs(run.command), { cwd: workspace, env, detached: true, stdio })
  const { child } = await spawnConfined(isolation, run.id, (fds) => commandArgs(isolation, { cwd: workspace, command: run.command, infoFd: fds.info, net: fds.net }), {
    cwd: workspace,
    env,
    stdio,
    resolvConf: join(dirname(workspace), 'resolv.conf'),
    log: 'ignore',
  })
  return child
}

/**
 * The check's HOME: empty and its own, never the working copy, where the branch's files would be read as the user's
 * configuration (`.gitconfig`, `.npmrc`, `.bash_profile`: the agent wrote them). In bubblewrap the private /tmp, as a
 * confined worker's; unconfined, a directory beside the working copy, removed with the sandbox.
 */
async function checkHome(workspace: string, isolation: Isolation): Promise<string> {
  if (isolation.kind !== 'none') return '/tmp'
  const home = join(dirname(workspace), 'home')
  await mkdir(home, { recursive: true })
  return home
}

/**
 * Runs a check command in a local check sandbox's working copy: confined by bubblewrap as an agent's commands are
 * (`commandArgs`: the system read-only, the working copy the only writable place, nothing else of the host, nothing
 * of the host's loopback), or with isolation `none` unconfined, as every local sandbox then is. In a process group of
 * its own, so the time limit or a stop kills all it started; bubblewrap's --die-with-parent ends it with the server.
 * The environment is PATH, an empty HOME of its own (checkHome) and the sandbox's id and spec: nothing of the server's
 * settings or secrets.
 */
export async function runConfinedCheck(workspace: string, isolation: Isolation, run: CheckRun): Promise<CheckResult> {
  const home = await checkHome(workspace, isolation)
  const env = { PATH: sandboxPath(process.env.PATH), HOME: home, LANG: 'C.UTF-8', OMOI_SANDBOX_ID: run.id, SPEC_ID: run.specId }
  const started = Date.now()
  const child = await startCheck(workspace, isolation, run, env)
  return new Promise((resolve, reject) => {
    let output = ''
    let timedOut = false
    let stopped = false
    const append = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      if (output.length > 8 * CHECK_OUTPUT_CAP) output = tail(output, 4 * CHECK_OUTPUT_CAP)
    }
    child.stdout!.on('data', append)
    child.stderr!.on('data', append)
    const timer = setTimeout(() => {
      timedOut = true
      if (child.pid) killGroup(child.pid)
    }, run.timeoutS * 1000)
    const stop = () => {
      stopped = true
      if (child.pid) killGroup(child.pid)
    }
    run.signal.addEventListener('abort', stop, { once: true })
    const done = () => {
      clearTimeout(timer)
      run.signal.removeEventListener('abort', stop)
    }
    child.on('error', (err) => {
      done()
      reject(new SandboxError(`could not start the check: ${err.message}`, { cause: err }))
    })
    child.on('close', (code, signal) => {
      done()
      if (stopped) return reject(new SandboxError('the check was stopped'))
      if (!timedOut && code === null) return reject(new SandboxLostError(`the check's sandbox was killed (${signal})`))
      resolve(checkResult(run.command, timedOut ? null : code, output, Date.now() - started))
    })
    if (child.pid) {
      run.onStarted({ id: run.id, externalId: String(child.pid) }).catch((err: unknown) => {
        stop()
        reject(err)
      })
    }
    if (run.signal.aborted) stop()
  })
}
