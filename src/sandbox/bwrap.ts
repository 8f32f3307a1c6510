import { lstatSync, readlinkSync } from 'node:fs'
import { dirname } from 'node:path'
import { CALLBACK_DIR_INSIDE } from './callback-socket.ts'
import { shellArgs } from './worker/command.ts'

/** Where the worker bundle appears inside a sandbox. */
export const WORKER_INSIDE = '/omoi/worker.mjs'
/** The uid and gid the agent runs as inside its user namespace (mapped to the server's own uid outside). */
const SANDBOX_UID = '1000'
/** System directories shown read-only; merged-/usr symlinks are recreated as symlinks. */
const SYSTEM_DIRS = ['/usr', '/bin', '/lib', '/lib32', '/lib64', '/sbin', '/etc']
/** Name resolution on systemd machines, where /etc/resolv.conf points into /run. */
const OPTIONAL_DIRS = ['/run/systemd/resolve']

/**
 * What a bubblewrap sandbox's network namespace reaches: nothing (`none`), or the outside through slirp4netns's NAT with
 * the host's loopback cut off (`nat`, src/sandbox/network.ts; bwrap then starts inside a namespace unshare(1) makes).
 */
export type SandboxNetwork = { kind: 'none' } | { kind: 'nat'; slirp4netns: string; unshare: string }

/** How local sandboxes are confined: bubblewrap (with or without a user namespace) and its network, or not at all. */
export type Isolation = { kind: 'bwrap'; bwrap: string; userns: boolean; network: SandboxNetwork } | { kind: 'none' }
export type BwrapIsolation = Extract<Isolation, { kind: 'bwrap' }>

/**
 * The network part of one sandbox's command line: with `none` bwrap makes the namespace; with `nat` it is made outside
 * bwrap, the sandbox resolves names through slirp4netns (`resolvConf` is shown as /etc/resolv.conf) and its command
 * waits on `blockFd` until slirp4netns has connected it.
 */
export type NetLayout = { kind: 'none' } | { kind: 'nat'; resolvConf: string; blockFd: number }

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
  net: NetLayout
  /** The directory holding the server's sandbox socket: shown read-only at CALLBACK_DIR_INSIDE. */
  callbackDir: string
}

export function systemMounts(): string[] {
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
 * The bwrap command line of one sandbox: new PID, IPC, UTS and network namespaces (and a user namespace with an
 * unprivileged uid where the machine allows), the system read-only, a private /tmp, the workspace (and `writable`) the
 * only writable places; nothing else of the host's file system: no data directory, no other workspace, no server source
 * or database. Nothing listening on the host's loopback is reachable; the worker calls the server back over the socket
 * in `callbackDir`. Ends with the worker's command.
 */
export function bwrapArgs(layout: BwrapLayout): string[] {
  const node = layout.nodePath.startsWith('/usr/') ? [] : ['--ro-bind', dirname(dirname(layout.nodePath)), dirname(dirname(layout.nodePath))]
  return [
    ...ownNamespaces(layout.userns, layout.net),
    '--unshare-ipc',
    '--unshare-uts',
    '--hostname',
    'omoi-sandbox',
    ...systemMounts(),
    ...resolver(layout.net),
    ...node,
    ...PRIVATE_MOUNTS,
    '--ro-bind',
    layout.workerPath,
    WORKER_INSIDE,
    // the directory, not the socket: a restarted server's new socket is seen by a sandbox that outlived the old one
    '--ro-bind',
    layout.callbackDir,
    CALLBACK_DIR_INSIDE,
    ...layout.writable.flatMap((path) => ['--bind', path, path]),
    '--bind',
    layout.workspace,
    layout.workspace,
    // the root bwrap builds is a tmpfs: read-only too, so the mounts above are the only writable places
    '--remount-ro',
    '/',
    '--chdir',
    layout.workspace,
    ...reports(layout.infoFd, layout.net),
    '--',
    layout.nodePath,
    WORKER_INSIDE,
  ]
}

/**
 * A PID namespace of its own, a user namespace (an unprivileged uid inside) where the machine allows, and (network
 * `none`) a network namespace with only a loopback of its own; a `nat` sandbox's network namespace is made outside bwrap.
 */
export function ownNamespaces(userns: boolean, net: Pick<NetLayout, 'kind'>): string[] {
  return [...(userns ? ['--unshare-user', '--uid', SANDBOX_UID, '--gid', SANDBOX_UID] : []), '--unshare-pid', ...(net.kind === 'none' ? ['--unshare-net'] : [])]
}

/** slirp4netns's name server, in place of the host's (which may be on the host's loopback, out of reach). */
function resolver(net: NetLayout): string[] {
  return net.kind === 'nat' ? ['--ro-bind', net.resolvConf, '/etc/resolv.conf'] : []
}

/** Where bwrap reports its sandbox, and (nat) where the command waits until the network is connected. */
function reports(infoFd: number, net: NetLayout): string[] {
  return ['--info-fd', String(infoFd), ...(net.kind === 'nat' ? ['--block-fd', String(net.blockFd)] : [])]
}

/** A fresh /proc of the namespace, a minimal /dev and a private /tmp. */
export const PRIVATE_MOUNTS = ['--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp']

/** One confined shell command: where it runs (the only writable place) and its namespace's network. */
export interface CommandLayout {
  cwd: string
  command: string
  infoFd: number
  net: NetLayout
}

/**
 * The bwrap command line that runs a shell `command` in `cwd` confined as an agent's sandbox is (a local check sandbox
 * runs the check on the spec branch this way, src/sandbox/local-check.ts): own PID/IPC/UTS/network (and user)
 * namespaces, the system read-only, a private /tmp, `cwd` the only writable place, nothing else of the host and no
 * server socket; node shown when it lives outside /usr (checks such as `npm test` need it). It ends with this process.
 */
export function commandArgs(isolation: BwrapIsolation, layout: CommandLayout): string[] {
  const nodeHome = dirname(dirname(process.execPath))
  const node = process.execPath.startsWith('/usr/') ? [] : ['--ro-bind', nodeHome, nodeHome]
  return [
    ...ownNamespaces(isolation.userns, layout.net),
    '--unshare-ipc',
    '--unshare-uts',
    '--die-with-parent',
    ...systemMounts(),
    ...resolver(layout.net),
    ...node,
    ...PRIVATE_MOUNTS,
    '--bind',
    layout.cwd,
    layout.cwd,
    '--remount-ro',
    '/',
    '--chdir',
    layout.cwd,
    ...reports(layout.infoFd, layout.net),
    '--',
    'bash',
    ...shellArgs(layout.command),
  ]
}
