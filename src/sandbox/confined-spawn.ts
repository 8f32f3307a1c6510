import { spawn, type ChildProcess, type IOType } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import type { Socket } from 'node:net'
import type { Readable, Writable } from 'node:stream'
import type { BwrapIsolation, NetLayout } from './bwrap.ts'
import { connectNat, NAT_RESOLV_CONF, natCommand } from './network.ts'
import { SandboxError } from './provider.ts'
import { signal } from './signal.ts'

/** The descriptors bwrap is told about: where it reports its sandbox, and (nat) where the command waits. */
export interface ConfinedFds {
  info: number
  net: NetLayout
}

export interface ConfinedSpawnOptions {
  cwd: string
  env: NodeJS.ProcessEnv
  /** The caller's descriptors 0…n-1; bwrap's own come after them. */
  stdio: (IOType | number)[]
  /** A file outside the sandbox that becomes its /etc/resolv.conf with `nat` (written here: NAT_RESOLV_CONF). */
  resolvConf: string
  /** Where slirp4netns writes (a log's fd), when there is one. */
  log: number | 'ignore'
}

/**
 * Reads bwrap's `--info-fd` report to its end: the host pid of the first process of the sandbox's PID namespace.
 * (Closing the pipe before bwrap has written all of it would kill bwrap with SIGPIPE half-way through its setup.)
 */
function namespacePid(info: Readable, exited: Promise<number | null>): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = ''
    info.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
    info.once('end', () => {
      const pid = Number(/"child-pid"\s*:\s*(\d+)/.exec(text)?.[1])
      if (pid > 0) resolve(pid)
      else reject(new SandboxError(`bwrap reported no sandbox (${text.trim() || 'nothing'})`))
    })
    void exited.then((code) => reject(new SandboxError(`bwrap exited (${code}) before the sandbox started`)))
    setTimeout(() => reject(new SandboxError('bwrap did not report its sandbox within 10 s')), 10_000).unref()
  })
}

/**
 * Starts a bubblewrap sandbox, detached (a process group of its own), in a network namespace of its own:
 * `args(fds)` is bwrap's command line for the descriptors it is given. With network `none` bwrap makes that namespace
 * (only a loopback in it); with `nat` bwrap starts inside one made for it, and its command is let start once
 * slirp4netns has connected it (src/sandbox/network.ts). Answers the child (bwrap's monitor) and the host pid of the
 * sandbox's first process. A sandbox that cannot be started is killed, and the promise rejects with SandboxError.
 */
export async function spawnConfined(
  isolation: BwrapIsolation,
  sandboxId: string,
  args: (fds: ConfinedFds) => string[],
  options: ConfinedSpawnOptions,
): Promise<{ child: ChildProcess; namespacePid: number }> {
  const first = options.stdio.length
  const nat = isolation.network.kind === 'nat' ? isolation.network : null
  const fds: ConfinedFds = { info: first, net: nat ? { kind: 'nat', resolvConf: options.resolvConf, blockFd: first + 1 } : { kind: 'none' } }
  if (nat) await writeFile(options.resolvConf, NAT_RESOLV_CONF)
  // info; with nat also the block fd and the end every process of the sandbox holds (slirp4netns's exit fd)
  const ours: IOType[] = nat ? ['pipe', 'pipe', 'pipe'] : ['pipe']
  const [file, argv] = nat ? natCommand(nat, isolation.bwrap, args(fds)) : [isolation.bwrap, args(fds)]
  const child = spawn(file, argv, { cwd: options.cwd, env: options.env, detached: true, stdio: [...options.stdio, ...ours] })
  if (child.pid === undefined) {
    const error = await new Promise<Error>((done) => child.once('error', done))
    throw new SandboxError(`could not start bwrap: ${error.message}`)
  }
  const exited = new Promise<number | null>((done) => child.once('exit', done))
  for (const stream of child.stdio.slice(first)) stream?.on('error', () => {})
  try {
    const pid = await namespacePid(child.stdio[first] as Readable, exited)
    if (nat) {
      const ends = { block: child.stdio[first + 1] as Writable, exit: child.stdio[first + 2] as Socket }
      await connectNat(nat, child.pid, ends, sandboxId, options.log)
    }
    return { child, namespacePid: pid }
  } catch (err) {
    signal(-child.pid, 'SIGKILL')
    throw err
  }
}
