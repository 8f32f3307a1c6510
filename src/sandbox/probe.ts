import { execFile } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { access, constants, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { commandArgs, ownNamespaces, PRIVATE_MOUNTS, systemMounts, type BwrapIsolation, type SandboxNetwork } from './bwrap.ts'
import { spawnConfined } from './confined-spawn.ts'
import { nestedSandboxArgs } from './worker/command.ts'

const exec = promisify(execFile)

/** An error that stops the start with one line saying what to do. */
export class IsolationError extends Error {
  override name = 'IsolationError'
}

const INSTALL = 'install bubblewrap (apt-get install -y bubblewrap) or set OMOI_SANDBOX_ISOLATION=none to run agents unconfined'
const NO_NETWORK = "agents' sandboxes get no network (no npm install, no git fetch from a remote)"

async function findOnPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').filter(Boolean)) {
    const path = join(dir, name)
    if (await access(path, constants.X_OK).then(() => true, () => false)) return path
  }
  return null
}

const firstLine = (text: string) => text.trim().split('\n')[0] ?? ''

/**
 * Finds bwrap and checks that it confines here: a sandbox with a network namespace of its own starts (in a user
 * namespace if the machine allows, else without) and a nested PID namespace starts inside it, as the agent's commands
 * need; then settles the sandboxes' network (`requested`: OMOI_SANDBOX_NETWORK, see `probeNetwork`). Throws
 * IsolationError when a sandbox cannot be had as asked; `warn` is told what the start should say besides.
 */
export async function probeBwrap(requested?: 'nat' | 'none', warn: (line: string) => void = () => {}): Promise<BwrapIsolation> {
  const bwrap = await findOnPath('bwrap')
  if (!bwrap) throw new IsolationError(`bwrap is not installed: ${INSTALL}`)
  let lastError = ''
  for (const userns of [true, false]) {
    const outer = [...ownNamespaces(userns, { kind: 'none' }), ...systemMounts(), ...PRIVATE_MOUNTS]
    try {
      await exec(bwrap, [...outer, '--', 'bwrap', ...nestedSandboxArgs([]), 'true'], { timeout: 10_000 })
      const confined: BwrapIsolation = { kind: 'bwrap', bwrap, userns, network: { kind: 'none' } }
      return { ...confined, network: await probeNetwork(confined, requested, warn) }
    } catch (err) {
      if (err instanceof IsolationError) throw err
      lastError = firstLine((err as { stderr?: string }).stderr ?? (err as Error).message)
    }
  }
  throw new IsolationError(`bwrap cannot start a sandbox here (${lastError}): ${INSTALL}`)
}

/**
 * The network of local sandboxes. `none` as asked; `nat` (asked, or by default) needs slirp4netns and unshare and a
 * trial sandbox that slirp4netns connects: asked for, its failure stops the start (IsolationError); by default it is
 * warned about and sandboxes get `none`.
 */
async function probeNetwork(confined: BwrapIsolation, requested: 'nat' | 'none' | undefined, warn: (line: string) => void): Promise<SandboxNetwork> {
  if (requested === 'none') return { kind: 'none' }
  const [slirp4netns, unshare] = await Promise.all([findOnPath('slirp4netns'), findOnPath('unshare')])
  const problem = !slirp4netns
    ? 'slirp4netns is not installed (apt-get install -y slirp4netns)'
    : !unshare
      ? 'unshare is not installed (apt-get install -y util-linux)'
      : await tryNat({ ...confined, network: { kind: 'nat', slirp4netns, unshare } })
  if (problem === null) return { kind: 'nat', slirp4netns: slirp4netns!, unshare: unshare! }
  if (requested === 'nat') throw new IsolationError(`OMOI_SANDBOX_NETWORK=nat cannot be had here: ${problem}; or set OMOI_SANDBOX_NETWORK=none`)
  warn(`${problem}: ${NO_NETWORK}; set OMOI_SANDBOX_NETWORK=none to run them so without this warning`)
  return { kind: 'none' }
}

/** Starts a sandbox on the nat network that checks its tap device is there: null when it is, else what went wrong. */
async function tryNat(isolation: BwrapIsolation): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), 'omoi-nat-probe-'))
  const work = join(dir, 'work')
  const slirpLog = join(dir, 'slirp.log')
  const logFd = openSync(slirpLog, 'a')
  try {
    await mkdir(work)
    const command = 'grep -q tap0 /proc/net/dev'
    const { child } = await spawnConfined(isolation, 'probe', (fds) => commandArgs(isolation, { cwd: work, command, infoFd: fds.info, net: fds.net }), {
      cwd: work,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'ignore', 'pipe'],
      resolvConf: join(dir, 'resolv.conf'),
      log: logFd,
    })
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    const code = await new Promise<number | null>((done) => child.once('close', done))
    return code === 0 ? null : `its sandbox had no network device (${firstLine(stderr) || `exit ${code}`})`
  } catch (err) {
    const said = firstLine(await readFile(slirpLog, 'utf8').catch(() => ''))
    return `${(err as Error).message}${said ? `: ${said}` : ''}`
  } finally {
    closeSync(logFd)
    await rm(dir, { recursive: true, force: true })
  }
}
