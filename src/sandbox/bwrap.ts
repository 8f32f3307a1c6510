import { execFile } from 'node:child_process'
import { lstatSync, readlinkSync } from 'node:fs'
import { access, constants } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { NESTED_SANDBOX_ARGS } from './worker/command.ts'

const exec = promisify(execFile)

/** Where the worker bundle appears inside a sandbox. */
export const WORKER_INSIDE = '/omoi/worker.mjs'
/** The uid and gid the agent runs as inside its user namespace (mapped to the server's own uid outside). */
const SANDBOX_UID = '1000'
/** System directories shown read-only; merged-/usr symlinks are recreated as symlinks. */
const SYSTEM_DIRS = ['/usr', '/bin', '/lib', '/lib32', '/lib64', '/sbin', '/etc']
/** Name resolution on systemd machines, where /etc/resolv.conf points into /run. */
const OPTIONAL_DIRS = ['/run/systemd/resolve']

/** How local sandboxes are confined: bubblewrap (with or without a user namespace), or not at all. */
export type Isolation = { kind: 'bwrap'; bwrap: string; userns: boolean } | { kind: 'none' }

export interface BwrapLayout {
  /** The sandbox's working copy: writable, at the same path inside. */
  workspace: string
  /** The worker bundle on the host: shown read-only at WORKER_INSIDE. */
  workerPath: string
  /** The node binary that runs the worker (its installation is shown read-only when outside /usr). */
  nodePath: string
  /** Further writable paths at the same path inside (the project's local repository, where task branches are pushed). */
  writable: string[]
  userns: boolean
  /** The fd bwrap reports its namespace's first process on (`{"child-pid": N}`). */
  infoFd: number
}

function systemMounts(): string[] {
  const args: string[] = []
  for (const dir of SYSTEM_DIRS) {
    try {
      const stat = lstatSync(dir)
      if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir)
      else if (stat.isDirectory()) args.push('--ro-bind', dir, dir)
    } catch {
      // not on this machine
    }
  }
  for (const dir of OPTIONAL_DIRS) args.push('--ro-bind-try', dir, dir)
  return args
}

/**
 * The bwrap command line of one sandbox: new PID, IPC and UTS namespaces (and a user namespace with an unprivileged
 * uid where the machine allows), the system read-only, a private /tmp, the workspace (and `writable`) the only writable
 * places; nothing else of the host's file system: no data directory, no other workspace, no server source or database.
 * The host network is kept (the worker calls the server back). Ends with the worker's command.
 */
export function bwrapArgs(layout: BwrapLayout): string[] {
  const node = layout.nodePath.startsWith('/usr/') ? [] : ['--ro-bind', dirname(dirname(layout.nodePath)), dirname(dirname(layout.nodePath))]
  return [
    ...ownNamespaces(layout.userns),
    '--unshare-ipc',
    '--unshare-uts',
    '--hostname',
    'omoi-sandbox',
    ...systemMounts(),
    ...node,
    ...PRIVATE_MOUNTS,
    '--ro-bind',
    layout.workerPath,
    WORKER_INSIDE,
    ...layout.writable.flatMap((path) => ['--bind', path, path]),
    '--bind',
    layout.workspace,
    layout.workspace,
    // the root bwrap builds is a tmpfs: read-only too, so the mounts above are the only writable places
    '--remount-ro',
    '/',
    '--chdir',
    layout.workspace,
    '--info-fd',
    String(layout.infoFd),
    '--',
    layout.nodePath,
    WORKER_INSIDE,
  ]
}

/** A PID namespace of its own, and a user namespace (an unprivileged uid inside) where the machine allows. */
function ownNamespaces(userns: boolean): string[] {
  return [...(userns ? ['--unshare-user', '--uid', SANDBOX_UID, '--gid', SANDBOX_UID] : []), '--unshare-pid']
}

/** A fresh /proc of the namespace, a minimal /dev and a private /tmp. */
const PRIVATE_MOUNTS = ['--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp']

/**
 * The bwrap command line that runs a shell `command` in `cwd` confined as an agent's sandbox is (a local check sandbox
 * runs the check on the spec branch this way, src/sandbox/local-check.ts): own PID/IPC/UTS (and user) namespaces, the system
 * read-only, a private /tmp, `cwd` the only writable place, nothing else of the host; node shown when it lives outside
 * /usr (checks such as `npm test` need it). It ends with this process.
 */
export function commandArgs(isolation: Extract<Isolation, { kind: 'bwrap' }>, cwd: string, command: string): string[] {
  const nodeHome = dirname(dirname(process.execPath))
  const node = process.execPath.startsWith('/usr/') ? [] : ['--ro-bind', nodeHome, nodeHome]
  return [
    ...ownNamespaces(isolation.userns),
    '--unshare-ipc',
    '--unshare-uts',
    '--die-with-parent',
    ...systemMounts(),
    ...node,
    ...PRIVATE_MOUNTS,
    '--bind',
    cwd,
    cwd,
    '--remount-ro',
    '/',
    '--chdir',
    cwd,
    '--',
    'bash',
    '-lc',
    command,
  ]
}

async function findOnPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').filter(Boolean)) {
    const path = join(dir, name)
    if (await access(path, constants.X_OK).then(() => true, () => false)) return path
  }
  return null
}

/** An error that stops the start with one line saying what to do. */
export class IsolationError extends Error {
  override name = 'IsolationError'
}

const INSTALL = 'install bubblewrap (apt-get install -y bubblewrap) or set OMOI_SANDBOX_ISOLATION=none to run agents unconfined'

/**
 * Finds bwrap and checks that it confines here: a sandbox starts (in a user namespace if the machine allows, else
 * without) and a nested PID namespace starts inside it, as the agent's commands need. Throws IsolationError otherwise.
 */
export async function probeBwrap(): Promise<Isolation> {
  const bwrap = await findOnPath('bwrap')
  if (!bwrap) throw new IsolationError(`bwrap is not installed: ${INSTALL}`)
  let lastError = ''
  for (const userns of [true, false]) {
    const outer = [...ownNamespaces(userns), ...systemMounts(), ...PRIVATE_MOUNTS]
    try {
      await exec(bwrap, [...outer, '--', 'bwrap', ...NESTED_SANDBOX_ARGS, 'true'], { timeout: 10_000 })
      return { kind: 'bwrap', bwrap, userns }
    } catch (err) {
      lastError = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n')[0] ?? ''
    }
  }
  throw new IsolationError(`bwrap cannot start a sandbox here (${lastError}): ${INSTALL}`)
}
