import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { bwrapArgs, commandArgs, WORKER_INSIDE, type BwrapIsolation } from '../../src/sandbox/bwrap.ts'
import { CALLBACK_DIR_INSIDE } from '../../src/sandbox/callback-socket.ts'
import { natCommand, slirpArgs } from '../../src/sandbox/network.ts'
import { IsolationError, probeBwrap } from '../../src/sandbox/probe.ts'
import { nestedSandboxArgs } from '../../src/sandbox/worker/command.ts'

const layout = {
  workspace: '/data/sandboxes/sbx_1/workspace',
  workerPath: '/srv/omoi/dist/worker/worker.mjs',
  nodePath: '/usr/bin/node',
  writable: ['/srv/git/shop'],
  userns: true,
  infoFd: 4,
  net: { kind: 'none' as const },
  callbackDir: '/srv/omoi-data/callback',
}
const nat = { kind: 'nat' as const, resolvConf: '/data/sandboxes/sbx_1/resolv.conf', blockFd: 5 }
const isolation: BwrapIsolation = { kind: 'bwrap', bwrap: '/usr/bin/bwrap', userns: true, network: { kind: 'none' } }

/** The value following `flag` each time it occurs (for flags with two operands, the pair joined by a space). */
const operands = (args: string[], flag: string, count = 1) =>
  args.flatMap((a, i) => (a === flag ? [args.slice(i + 1, i + 1 + count).join(' ')] : []))
/** The options only, without the command after `--`. */
const options = (args: string[]) => args.slice(0, args.indexOf('--'))

describe('the bwrap command line of a sandbox', () => {
  it('unshares PID, IPC, UTS, the network and the user (an unprivileged uid)', () => {
    const args = bwrapArgs(layout)
    for (const flag of ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-user', '--unshare-net']) expect(args).toContain(flag)
    expect(operands(args, '--uid')).toEqual(['1000'])
    expect(args).not.toContain('--share-net')
    expect(args).not.toContain('--unshare-user-try')
    expect(bwrapArgs({ ...layout, userns: false })).not.toContain('--unshare-user')
    expect(bwrapArgs({ ...layout, userns: false })).toContain('--unshare-net')
  })

  it('makes only the workspace and the project repository writable, besides a private /tmp, and runs the worker there', () => {
    const args = bwrapArgs(layout)
    expect(operands(args, '--bind', 2)).toEqual(['/srv/git/shop /srv/git/shop', `${layout.workspace} ${layout.workspace}`])
    expect(operands(args, '--tmpfs')).toEqual(['/tmp'])
    expect(operands(args, '--ro-bind', 2)).toContain(`${layout.workerPath} ${WORKER_INSIDE}`)
    expect(operands(args, '--ro-bind', 2)).toContain('/etc /etc')
    // nothing of the server's tree is mounted but the worker bundle
    expect(operands(args, '--ro-bind', 2).filter((m) => m.startsWith('/srv/omoi/'))).toEqual([`${layout.workerPath} ${WORKER_INSIDE}`])
    expect(operands(args, '--remount-ro')).toEqual(['/'])
    expect(args.slice(args.indexOf('--'))).toEqual(['--', '/usr/bin/node', WORKER_INSIDE])
    expect(operands(args, '--chdir')).toEqual([layout.workspace])
  })

  it('shows the directory of the server’s socket read-only (not the socket: a restarted server’s new one is seen)', () => {
    const args = bwrapArgs(layout)
    expect(operands(args, '--ro-bind', 2)).toContain(`${layout.callbackDir} ${CALLBACK_DIR_INSIDE}`)
    expect(operands(args, '--bind', 2).filter((m) => m.includes('callback'))).toEqual([])
    expect(operands(args, '--info-fd')).toEqual(['4'])
    expect(args).not.toContain('--block-fd')
  })

  it('with nat leaves the network namespace to its wrapper, resolves through slirp4netns and waits to be connected', () => {
    const args = bwrapArgs({ ...layout, net: nat })
    expect(args).not.toContain('--unshare-net')
    for (const flag of ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-user']) expect(args).toContain(flag)
    expect(operands(args, '--ro-bind', 2)).toContain(`${nat.resolvConf} /etc/resolv.conf`)
    // the resolver file is shown over /etc, so after it
    expect(args.indexOf(nat.resolvConf)).toBeGreaterThan(args.indexOf('/etc'))
    expect(operands(options(args), '--block-fd')).toEqual(['5'])
  })

  it('shows a node installed outside /usr read-only', () => {
    const args = bwrapArgs({ ...layout, nodePath: '/opt/node-20/bin/node' })
    expect(operands(args, '--ro-bind', 2)).toContain('/opt/node-20 /opt/node-20')
  })
})

describe('the bwrap command line of a check', () => {
  const check = { cwd: '/data/sandboxes/sbx_2/workspace', command: 'npm test', infoFd: 3, net: { kind: 'none' as const } }

  it('has a network namespace of its own and no server socket, and ends with the server', () => {
    const args = commandArgs(isolation, check)
    for (const flag of ['--unshare-pid', '--unshare-net', '--die-with-parent']) expect(args).toContain(flag)
    expect(args.join(' ')).not.toContain(CALLBACK_DIR_INSIDE)
    expect(operands(args, '--bind', 2)).toEqual([`${check.cwd} ${check.cwd}`])
    // no startup files: the working copy is its HOME, and the agent wrote what is in it
    expect(args.slice(args.indexOf('--'))).toEqual(['--', 'bash', '--noprofile', '--norc', '-c', 'npm test'])
  })

  it('with nat waits to be connected and resolves through slirp4netns', () => {
    const args = commandArgs(isolation, { ...check, net: nat })
    expect(args).not.toContain('--unshare-net')
    expect(operands(args, '--ro-bind', 2)).toContain(`${nat.resolvConf} /etc/resolv.conf`)
    expect(operands(options(args), '--block-fd')).toEqual(['5'])
    expect(operands(options(args), '--info-fd')).toEqual(['3'])
  })
})

describe('the nat network', () => {
  const network = { kind: 'nat' as const, slirp4netns: '/usr/bin/slirp4netns', unshare: '/usr/bin/unshare' }

  it('starts bwrap inside a network namespace of its own, in a user namespace of its own when not root', () => {
    expect(natCommand(network, '/usr/bin/bwrap', ['--unshare-pid'], true)).toEqual(['/usr/bin/unshare', ['--net', '--', '/usr/bin/bwrap', '--unshare-pid']])
    const [file, args] = natCommand(network, '/usr/bin/bwrap', ['--unshare-pid'], false)
    expect(file).toBe('/usr/bin/unshare')
    expect(args.slice(0, args.indexOf('--'))).toEqual(['--user', `--map-user=${process.getuid!()}`, `--map-group=${process.getgid!()}`, '--net'])
  })

  it('connects it through bwrap’s monitor with the host’s loopback cut off', () => {
    const root = slirpArgs(4242, true)
    expect(root).toContain('--disable-host-loopback')
    expect(root).toContain('--configure')
    expect(root.slice(-3)).toEqual(['--netns-type=path', '/proc/4242/ns/net', 'tap0'])
    expect(root).toContain('--enable-sandbox')
    expect(root.some((a) => a.startsWith('--userns-path'))).toBe(false)
    const user = slirpArgs(4242, false)
    expect(user).toContain('--disable-host-loopback')
    expect(user).toContain('--userns-path=/proc/4242/ns/user')
    expect(user).not.toContain('--enable-sandbox')
  })
})

describe('an agent command’s nested sandbox', () => {
  it('hides the server’s socket directory and keeps the worker’s (isolated) network', () => {
    const args = nestedSandboxArgs([CALLBACK_DIR_INSIDE])
    expect(operands(args, '--tmpfs')).toEqual(['/proc', CALLBACK_DIR_INSIDE])
    expect(args).not.toContain('--unshare-net')
    expect(args.at(-1)).toBe('--')
  })
})

describe('probeBwrap', () => {
  const path = process.env.PATH
  const dirs: string[] = []
  afterEach(async () => {
    process.env.PATH = path
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
  })

  /** A directory first on PATH whose slirp4netns fails at once, as a broken installation would. */
  async function brokenSlirp(): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'omoi-slirp-'))
    dirs.push(dir)
    await writeFile(join(dir, 'slirp4netns'), '#!/bin/sh\necho "cannot open /dev/net/tun" >&2\nexit 1\n')
    await chmod(join(dir, 'slirp4netns'), 0o755)
    process.env.PATH = `${dir}:${path}`
  }

  it('stops the start with one line saying how to install bubblewrap or opt out, when bwrap is missing', async () => {
    process.env.PATH = '/nonexistent'
    const error = await probeBwrap().catch((err: unknown) => err)
    expect(error).toBeInstanceOf(IsolationError)
    expect((error as Error).message).toBe(
      'bwrap is not installed: install bubblewrap (apt-get install -y bubblewrap) or set OMOI_SANDBOX_ISOLATION=none to run agents unconfined',
    )
  })

  it('confines here, with a nested PID namespace for the agent’s commands, and the nat network where slirp4netns works', async () => {
    const warnings: string[] = []
    expect(await probeBwrap(undefined, (w) => warnings.push(w))).toMatchObject({
      kind: 'bwrap',
      bwrap: expect.stringMatching(/\/bwrap$/),
      network: { kind: 'nat', slirp4netns: expect.stringMatching(/\/slirp4netns$/), unshare: expect.stringMatching(/\/unshare$/) },
    })
    expect(warnings).toEqual([])
    expect(await probeBwrap('none')).toMatchObject({ kind: 'bwrap', network: { kind: 'none' } })
  })

  it('stops the start when nat is asked for and slirp4netns cannot connect a sandbox; by default warns and has no network', async () => {
    await brokenSlirp()
    const error = await probeBwrap('nat').catch((err: unknown) => err)
    expect(error).toBeInstanceOf(IsolationError)
    expect((error as Error).message).toMatch(/^OMOI_SANDBOX_NETWORK=nat cannot be had here: slirp4netns exited \(1\) .*: cannot open \/dev\/net\/tun; or set OMOI_SANDBOX_NETWORK=none$/)

    const warnings: string[] = []
    expect(await probeBwrap(undefined, (w) => warnings.push(w))).toMatchObject({ kind: 'bwrap', network: { kind: 'none' } })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/cannot open \/dev\/net\/tun: agents' sandboxes get no network/)
  })
})
