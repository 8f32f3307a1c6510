import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { isAbsolute, join, resolve } from 'node:path'
import type { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { logger } from '../log.ts'
import { bwrapArgs, type Isolation } from './bwrap.ts'
import { callbackFallbackUrl } from './callback-fallback.ts'
import { CALLBACK_DIR_INSIDE, callbackDir, SOCKET_CALLBACK_URL } from './callback-socket.ts'
import { spawnConfined } from './confined-spawn.ts'
import { runConfinedCheck } from './local-check.ts'
import { SandboxError, type SandboxHandle, type SandboxLiveness, type SandboxProvider, type SandboxSpec } from './provider.ts'
import { sandboxPath } from './sandbox-path.ts'
import { signal } from './signal.ts'
import { OMOI_IDENTITY, unattendedGit } from './worker/unattended-git.ts'

const log = logger('omoi:sandbox:local')
const STOP_GRACE_MS = 3_000

/** Runs git (unattendedGit); answers its output trimmed, a failure becomes a SandboxError carrying git's own words. */
async function git(cwd: string, args: string[], config: string[] = []): Promise<string> {
  try {
    return (await unattendedGit(cwd, [...config, ...args])).trim()
  } catch (err) {
    throw new SandboxError((err as Error).message)
  }
}

/** A branch name that git would read as an option is refused before it reaches a command line. */
function checkBranches(repo: SandboxSpec['repo']): void {
  for (const branch of [repo.baseBranch, repo.workBranch, ...repo.mergeBranches]) {
    if (!branch || branch.startsWith('-')) throw new SandboxError(`not a branch name: "${branch}"`)
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}

/** Fresh working copy of the spec's repository on its work branch, with the dependency branches merged in. */
async function prepareWorkspace(workspace: string, repo: SandboxSpec['repo']): Promise<void> {
  checkBranches(repo)
  await rm(workspace, { recursive: true, force: true })
  if (repo.url === null) {
    await git('.', ['init', '-q', '-b', repo.baseBranch, workspace])
    await git(workspace, ['commit', '-q', '--allow-empty', '-m', 'initial commit'], OMOI_IDENTITY)
  } else {
    await git('.', ['clone', '-q', '--', repo.url, workspace])
    // named as origin has it, not guessed from a branch name (`checkout.guess=false` turns the guess off)
    await git(workspace, ['checkout', '-q', '-B', repo.baseBranch, `refs/remotes/origin/${repo.baseBranch}`])
  }
  await git(workspace, ['checkout', '-q', '-B', repo.workBranch])
  for (const branch of repo.mergeBranches) {
    await git(workspace, ['fetch', '-q', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`])
    try {
      await git(workspace, ['merge', '-q', '--no-edit', '-m', `omoi: merge ${branch}`, `origin/${branch}`], OMOI_IDENTITY)
    } catch (err) {
      // NUL-separated: names as they are, not quoted as core.quotePath says; plumbing: no diff.* setting of the user's
      const conflicts = await git(workspace, ['diff-files', '--name-only', '-z', '--diff-filter=U']).catch(() => '')
      await git(workspace, ['merge', '--abort']).catch(() => {})
      const why = conflicts ? `conflicts in ${conflicts.split('\0').filter(Boolean).join(', ')}` : (err as Error).message
      throw new SandboxError(`merging ${branch} into ${repo.workBranch} failed: ${why}`)
    }
  }
}

/** Is `pid` alive and running this worker? Reading its command line guards against a reused pid. */
async function isOurWorker(pid: number, workerPath: string): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  return cmdline.split('\0').includes(workerPath)
}

/** The process group of `pid` (field 5 of /proc/<pid>/stat), or null once it is gone. */
async function groupOf(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])
  return Number.isInteger(group) && group > 0 ? group : null
}

/**
 * Kills every process that carries this sandbox's id in its environment: whatever its worker or the agent's commands
 * started, also in a session of its own (`setsid`). Without bubblewrap this is what ends a sandbox's leftovers.
 */
async function killCarriers(sandboxId: string): Promise<void> {
  const mark = `OMOI_SANDBOX_ID=${sandboxId}`
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry)
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '')
    if (environ.split('\0').includes(mark)) signal(pid, 'SIGKILL')
  }
}

/**
 * The default provider: each sandbox is a working copy under `<dataDir>/sandboxes/<id>/workspace` and a detached
 * worker process, so it outlives a server restart and can be re-attached by pid. With `isolation.kind === 'bwrap'`
 * the worker runs in bubblewrap (src/sandbox/bwrap.ts) and the recorded pid is the first process of its PID namespace:
 * when it ends, the kernel ends everything in the namespace. Such a sandbox has a network namespace of its own
 * (src/sandbox/network.ts) and calls the server back over a socket in `<dataDir>/callback/`, where the servers
 * listen (src/sandbox/callback-socket.ts); on the nat network, when none answers there, on `publicUrl` if it can reach
 * that (src/sandbox/callback-fallback.ts). The token is handed over on fd 3, never in an environment.
 * Linux only (liveness is read from /proc). A check sandbox (`runCheck`) is a working copy and the check command
 * alone, run by src/sandbox/local-check.ts.
 */
export function createLocalProvider(opts: { dataDir: string; workerPath: string; isolation: Isolation; publicUrl?: string }): SandboxProvider {
  const workerPath = resolve(opts.workerPath)
  const { isolation } = opts
  const fallbackUrl = isolation.kind === 'bwrap' ? callbackFallbackUrl(opts.publicUrl, isolation.network.kind) : undefined
  if (fallbackUrl) log.info('bubblewrap sandboxes call back on the public URL when no sandbox socket of this data directory answers', { url: fallbackUrl })
  else if (isolation.kind === 'bwrap' && opts.publicUrl) {
    log.info('bubblewrap sandboxes call back over the sandbox sockets only: their network cannot reach OMOI_PUBLIC_URL', {
      url: opts.publicUrl,
      network: isolation.network.kind,
    })
  }
  const status = async (handle: SandboxHandle): Promise<SandboxLiveness> =>
    (await isOurWorker(Number(handle.externalId), workerPath)) ? 'running' : 'exited'
  const sandboxDir = (id: string) => join(resolve(opts.dataDir), 'sandboxes', id)

  /**
   * Starts the worker of `spec` (its token pipe on fd 3, output to `logFd`): in bubblewrap, with a network namespace of
   * its own and the server's socket directory shown, answering the pid of the sandbox's first process; or unconfined.
   */
  async function startWorker(spec: SandboxSpec, dir: string, workspace: string, env: Record<string, string>, logFd: number) {
    const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', logFd, logFd, 'pipe']
    if (isolation.kind === 'none') {
      if (process.env.HOME) env.HOME = process.env.HOME
      const child: ChildProcess = spawn(process.execPath, [workerPath], { cwd: workspace, env, detached: true, stdio })
      if (child.pid === undefined) {
        const error = await new Promise<Error>((done) => child.once('error', done))
        throw new SandboxError(`could not start the worker: ${error.message}`)
      }
      return { child, pid: child.pid }
    }
    env.HOME = '/tmp'
    env.OMOI_COMMAND_SANDBOX = 'bwrap'
    env.OMOI_CALLBACK_SOCKET_DIR = CALLBACK_DIR_INSIDE
    if (fallbackUrl) env.OMOI_CALLBACK_FALLBACK_URL = fallbackUrl
    // the server may not have made it yet (a provider used on its own); the server keeps it, sandboxes bind it
    await mkdir(callbackDir(opts.dataDir), { recursive: true, mode: 0o700 })
    // task branches are pushed to the project's repository: a local one must be writable inside
    const writable = spec.repo.url && isAbsolute(spec.repo.url) ? [spec.repo.url] : []
    const layout = { workspace, workerPath, nodePath: process.execPath, writable, userns: isolation.userns, callbackDir: callbackDir(opts.dataDir) }
    const { child, namespacePid } = await spawnConfined(isolation, spec.id, (fds) => bwrapArgs({ ...layout, infoFd: fds.info, net: fds.net }), {
      cwd: workspace,
      env,
      stdio,
      resolvConf: join(dir, 'resolv.conf'),
      log: logFd,
    }).catch((err: unknown) => {
      throw err instanceof SandboxError ? new SandboxError(`${err.message}: see its worker.log`) : err
    })
    return { child, pid: namespacePid }
  }

  return {
    name: 'local',
    statusEveryMs: 1000,
    callbackUrl: isolation.kind === 'bwrap' ? SOCKET_CALLBACK_URL : undefined,

    async start(spec) {
      const dir = sandboxDir(spec.id)
      const workspace = join(dir, 'workspace')
      // Starting the same sandbox twice re-attaches: the working copy of a live worker is never wiped.
      const previous = Number(await readFile(join(dir, 'pid'), 'utf8').catch(() => ''))
      if (await isOurWorker(previous, workerPath)) return { id: spec.id, externalId: String(previous) }
      if (!(await exists(workerPath))) throw new SandboxError(`the worker bundle ${workerPath} is missing: run npm run build:worker`)
      await mkdir(dir, { recursive: true })
      await prepareWorkspace(workspace, spec.repo)

      const { OMOI_SANDBOX_TOKEN: token, ...env } = spec.env
      if (!token) throw new SandboxError('no sandbox token to hand over')
      env.OMOI_SANDBOX_TOKEN_FD = '3'
      env.PATH = sandboxPath(process.env.PATH)
      const logFd = openSync(join(dir, 'worker.log'), 'a')
      try {
        const { child, pid } = await startWorker(spec, dir, workspace, env, logFd)
        child.on('error', (err) => log.error('worker process error', { sandbox_id: spec.id, err }))
        // the worker closes its end once it has read the token: a reset then is no error of ours
        const tokenPipe = (child.stdio[3] as Writable).on('error', () => {})
        // written into the worker's end at once; ours is closed then, so nothing of the server waits on bwrap's copies
        tokenPipe.end(`${token}\n`, () => tokenPipe.destroy())
        child.unref()
        await writeFile(join(dir, 'pid'), `${pid}\n`)
        log.info('sandbox started', { sandbox_id: spec.id, pid, isolation: isolation.kind, network: isolation.kind === 'bwrap' ? isolation.network.kind : 'host' })
        return { id: spec.id, externalId: String(pid) }
      } finally {
        closeSync(logFd)
      }
    },

    status,

    async stop(handle) {
      const pid = Number(handle.externalId)
      if ((await status(handle)) === 'running') {
        const group = await groupOf(pid)
        if (group) signal(-group, 'SIGTERM')
        const until = Date.now() + STOP_GRACE_MS
        while (Date.now() < until && (await status(handle)) === 'running') await sleep(50)
        if ((await status(handle)) === 'running') {
          log.warn('worker ignored SIGTERM, killing it', { sandbox_id: handle.id, pid })
          signal(pid, 'SIGKILL')
          if (group) signal(-group, 'SIGKILL')
        }
      }
      await killCarriers(handle.id)
      // its task branches are pushed already: nothing of a finished sandbox's working copy is kept
      await rm(join(sandboxDir(handle.id), 'workspace'), { recursive: true, force: true })
    },

    async runCheck(run) {
      if (!/^[0-9a-f]{7,64}$/.test(run.repo.commit)) throw new SandboxError(`not a commit id: "${run.repo.commit}"`)
      const dir = sandboxDir(run.id)
      const workspace = join(dir, 'workspace')
      try {
        await prepareWorkspace(workspace, { url: run.repo.url, baseBranch: run.repo.branch, workBranch: run.repo.branch, mergeBranches: [] })
        await git(workspace, ['reset', '-q', '--hard', run.repo.commit])
        return await runConfinedCheck(workspace, isolation, run)
      } finally {
        // unconfined, what the check started in a session of its own outlives its process group
        await killCarriers(run.id)
        await rm(dir, { recursive: true, force: true })
      }
    },

    async close() {},
  }
}

const creatingRepos = new Map<string, Promise<string>>()

/**
 * The repository of a project that has no repo_url: a bare repo at `<dataDir>/repos/<projectId>.git` whose
 * `defaultBranch` holds one initial commit. Created once; later calls (also concurrent ones) answer the same path.
 */
export function ensureProjectRepo(dataDir: string, projectId: string, defaultBranch: string): Promise<string> {
  if (!/^[\w-]+$/.test(projectId)) return Promise.reject(new SandboxError(`not a project id: ${projectId}`))
  if (defaultBranch.startsWith('-')) return Promise.reject(new SandboxError(`not a branch name: "${defaultBranch}"`))
  const path = join(resolve(dataDir), 'repos', `${projectId}.git`)
  let creating = creatingRepos.get(path)
  if (!creating) {
    creating = createRepo(path, projectId, defaultBranch).finally(() => creatingRepos.delete(path))
    creatingRepos.set(path, creating)
  }
  return creating
}

async function createRepo(path: string, projectId: string, defaultBranch: string): Promise<string> {
  if (await exists(path)) return path
  const reposDir = join(path, '..')
  await mkdir(reposDir, { recursive: true })
  // Built in a scratch directory and renamed into place: a crash half-way leaves no half-made repository behind.
  const scratch = await mkdtemp(join(reposDir, `.${projectId}-`))
  try {
    const bare = join(scratch, 'repo.git')
    const work = join(scratch, 'work')
    await git(scratch, ['init', '-q', '--bare', '-b', defaultBranch, bare])
    await git(scratch, ['init', '-q', '-b', defaultBranch, work])
    await writeFile(join(work, 'README.md'), `# ${projectId}\n\nCreated by omoi.\n`)
    await git(work, ['add', 'README.md'])
    await git(work, ['commit', '-q', '-m', 'initial commit'], OMOI_IDENTITY)
    await git(work, ['push', '-q', bare, `HEAD:refs/heads/${defaultBranch}`])
    // Another process may have won the race; its repository is as good as ours.
    await rename(bare, path).catch(async (err: unknown) => {
      if (!(await exists(path))) throw err
    })
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
  return path
}
