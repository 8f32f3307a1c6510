import { afterEach, describe, expect, it } from 'vitest'
import { bwrapArgs, IsolationError, probeBwrap, WORKER_INSIDE } from '../../src/sandbox/bwrap.ts'

const layout = {
  workspace: '/data/sandboxes/sbx_1/workspace',
  workerPath: '/srv/omoi/dist/worker/worker.mjs',
  nodePath: '/usr/bin/node',
  writable: ['/srv/git/shop'],
  userns: true,
  infoFd: 4,
}

/** The value following `flag` each time it occurs (for flags with two operands, the pair joined by a space). */
const operands = (args: string[], flag: string, count = 1) =>
  args.flatMap((a, i) => (a === flag ? [args.slice(i + 1, i + 1 + count).join(' ')] : []))

describe('the bwrap command line of a sandbox', () => {
  it('unshares PID, IPC, UTS and the user (an unprivileged uid), and keeps the network', () => {
    const args = bwrapArgs(layout)
    for (const flag of ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-user']) expect(args).toContain(flag)
    expect(operands(args, '--uid')).toEqual(['1000'])
    expect(args).not.toContain('--unshare-net')
    expect(args).not.toContain('--unshare-user-try')
    expect(bwrapArgs({ ...layout, userns: false })).not.toContain('--unshare-user')
  })

  it('makes only the workspace and the project repository writable, besides a private /tmp, and runs the worker there', () => {
    const args = bwrapArgs(layout)
    expect(operands(args, '--bind', 2)).toEqual(['/srv/git/shop /srv/git/shop', `${layout.workspace} ${layout.workspace}`])
    expect(operands(args, '--tmpfs')).toEqual(['/tmp'])
    expect(operands(args, '--ro-bind', 2)).toContain(`${layout.workerPath} ${WORKER_INSIDE}`)
    expect(operands(args, '--ro-bind', 2)).toContain('/etc /etc')
    // nothing of the server's tree is mounted but the worker bundle
    expect(operands(args, '--ro-bind', 2).filter((m) => m.startsWith('/srv/'))).toEqual([`${layout.workerPath} ${WORKER_INSIDE}`])
    expect(operands(args, '--remount-ro')).toEqual(['/'])
    expect(args.slice(args.indexOf('--'))).toEqual(['--', '/usr/bin/node', WORKER_INSIDE])
    expect(operands(args, '--chdir')).toEqual([layout.workspace])
  })

  it('shows a node installed outside /usr read-only', () => {
    const args = bwrapArgs({ ...layout, nodePath: '/opt/node-20/bin/node' })
    expect(operands(args, '--ro-bind', 2)).toContain('/opt/node-20 /opt/node-20')
  })
})

describe('probeBwrap', () => {
  const path = process.env.PATH
  afterEach(() => {
    process.env.PATH = path
  })

  it('stops the start with one line saying how to install bubblewrap or opt out, when bwrap is missing', async () => {
    process.env.PATH = '/nonexistent'
    const error = await probeBwrap().catch((err: unknown) => err)
    expect(error).toBeInstanceOf(IsolationError)
    expect((error as Error).message).toBe(
      'bwrap is not installed: install bubblewrap (apt-get install -y bubblewrap) or set OMOI_SANDBOX_ISOLATION=none to run agents unconfined',
    )
  })

  it('confines here, with a nested PID namespace for the agent’s commands', async () => {
    expect(await probeBwrap()).toMatchObject({ kind: 'bwrap', bwrap: expect.stringMatching(/\/bwrap$/) })
  })
})
