import { spawn } from 'node:child_process'
import { readlink } from 'node:fs/promises'
import type { Socket } from 'node:net'
import type { Readable, Writable } from 'node:stream'
import type { SandboxNetwork } from './bwrap.ts'
import { SandboxError } from './provider.ts'
import { signal } from './signal.ts'

/**
 * The `nat` network of a local sandbox (OMOI_SANDBOX_NETWORK=nat): bwrap is started inside a network namespace that
 * unshare(1) makes (in a user namespace of its own when the server is not root), and bwrap's monitor process stays in it
 * for the sandbox's life. slirp4netns joins that namespace through the monitor, gives it a tap device behind a NAT
 * (10.0.2.0/24; DNS at 10.0.2.3) and refuses the gateway's way to the host's loopback (--disable-host-loopback); it
 * exits when the sandbox's last process is gone. Joining through the monitor rather than the sandbox's first process
 * matters: bwrap moves that one into a second user namespace (for the unprivileged uid), from which the network
 * namespace cannot be joined.
 */

type Nat = Extract<SandboxNetwork, { kind: 'nat' }>

/** The name server slirp4netns answers on inside its network, shown to a nat sandbox as its /etc/resolv.conf. */
export const NAT_RESOLV_CONF = 'nameserver 10.0.2.3\n'
const READY_WITHIN_MS = 10_000

const isRoot = () => process.getuid?.() === 0

/**
 * The command that starts `bwrap args` inside a network namespace of its own (and, not being root, a user namespace
 * where this user's ids map to themselves, which owns that network namespace).
 */
export function natCommand(nat: Nat, bwrap: string, args: string[], root = isRoot()): [string, string[]] {
  const ids = process.getuid && process.getgid ? [`--map-user=${process.getuid()}`, `--map-group=${process.getgid()}`] : []
  return [nat.unshare, [...(root ? [] : ['--user', ...ids]), '--net', '--', bwrap, ...args]]
}

/**
 * slirp4netns's command line for the network namespace that process `monitorPid` is in: ready reported on fd 3, its
 * life tied to fd 4. Seccomp always; as root also its own sandbox (no capabilities), as it parses what agents send.
 * Not being root it joins the monitor's user namespace, which owns that network namespace.
 */
export function slirpArgs(monitorPid: number, root = isRoot()): string[] {
  return [
    '--configure',
    '--mtu=65520',
    '--disable-host-loopback',
    '--enable-seccomp',
    ...(root ? ['--enable-sandbox'] : [`--userns-path=/proc/${monitorPid}/ns/user`]),
    '--ready-fd=3',
    '--exit-fd=4',
    '--netns-type=path',
    `/proc/${monitorPid}/ns/net`,
    'tap0',
  ]
}

/** The descriptors of a nat sandbox's bwrap that connecting it needs (our ends). */
export interface NatEnds {
  /** bwrap's --block-fd: the sandbox's command starts once something is written here. */
  block: Writable
  /** The other end is held by every process of the sandbox: handed to slirp4netns as its exit fd. */
  exit: Socket
}

/**
 * Connects the network namespace bwrap's monitor `monitorPid` is in (once bwrap has reported its sandbox, so unshare
 * has run) and then lets the sandbox's command start. slirp4netns runs detached, carrying OMOI_SANDBOX_ID (so a stop
 * finds it), its output to `log`. Rejects with SandboxError when that namespace is this server's own, or slirp4netns
 * exits or is not ready within 10 s.
 */
export async function connectNat(nat: Nat, monitorPid: number, ends: NatEnds, sandboxId: string, log: number | 'ignore'): Promise<void> {
  const [ours, theirs] = await Promise.all([readlink('/proc/self/ns/net'), readlink(`/proc/${monitorPid}/ns/net`).catch(() => null)])
  if (theirs === null || theirs === ours) throw new SandboxError(`the sandbox has no network namespace of its own to connect (${theirs ?? 'gone'})`)
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', OMOI_SANDBOX_ID: sandboxId }
  const slirp = spawn(nat.slirp4netns, slirpArgs(monitorPid), { detached: true, env, stdio: ['ignore', log, log, 'pipe', ends.exit] })
  ends.exit.destroy()
  const ready = slirp.stdio[3] as Readable
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SandboxError('slirp4netns did not connect the sandbox within 10 s')), READY_WITHIN_MS)
      ready.once('data', () => {
        clearTimeout(timer)
        resolve()
      })
      slirp.once('error', (err) => reject(new SandboxError(`could not start slirp4netns: ${err.message}`, { cause: err })))
      slirp.once('exit', (code) => {
        clearTimeout(timer)
        reject(new SandboxError(`slirp4netns exited (${code}) before the sandbox's network was up`))
      })
    })
  } catch (err) {
    if (slirp.pid) signal(slirp.pid, 'SIGKILL')
    throw err
  } finally {
    ready.destroy()
    slirp.unref()
  }
  // our end closed at once, so the server holds nothing of a sandbox that outlives it
  ends.block.end('1', () => ends.block.destroy())
}
