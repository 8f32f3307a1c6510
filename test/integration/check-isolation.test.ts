import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildWorker } from '../../scripts/build-worker.ts'
import { probeBwrap } from '../../src/sandbox/probe.ts'
import { createLocalProvider } from '../../src/sandbox/local.ts'
import { SandboxError, type CheckRun, type SandboxHandle, type SandboxProvider } from '../../src/sandbox/provider.ts'
import { CHECK_OUTPUT_CAP } from '../../src/schemas/task-report.ts'
import { connects, countingListener as listener, hostAddress } from '../support/net-probe.ts'
import { git, makeRepo } from '../support/repo.ts'
import { tempDir } from '../support/temp.ts'

/**
 * The check on a spec's branch runs in a local check sandbox: a working copy of the branch at the commit under the
 * sandboxes directory, confined as an agent's sandbox is (the system read-only, that copy, nothing else of the host),
 * time-limited and its output capped as a task's check; nothing of it is left once it has answered.
 */
let provider: SandboxProvider
let noNetwork: SandboxProvider
let unconfined: SandboxProvider
let dataDir: string
let repo: string
let secrets: string
let first: string
let head: string
const BRANCH = 'omoi/0123456789/spec'

beforeAll(async () => {
  const workerPath = await buildWorker()
  dataDir = await tempDir('check-data')
  provider = createLocalProvider({ dataDir, workerPath, isolation: await probeBwrap('nat') })
  noNetwork = createLocalProvider({ dataDir, workerPath, isolation: await probeBwrap('none') })
  unconfined = createLocalProvider({ dataDir, workerPath, isolation: { kind: 'none' } })
  repo = await makeRepo()
  await git(repo, 'checkout', '-q', '-b', BRANCH)
  first = await git(repo, 'rev-parse', 'HEAD')
  await writeFile(join(repo, 'later.txt'), 'a commit after the checked one\n')
  await git(repo, 'add', '-A')
  await git(repo, 'commit', '-q', '-m', 'later')
  head = await git(repo, 'rev-parse', 'HEAD')
  await git(repo, 'checkout', '-q', 'main')
  secrets = await tempDir('check-secrets')
  await writeFile(join(secrets, 'token'), 'do not read me')
})
afterAll(async () => {
  await provider?.close()
  await noNetwork?.close()
  await unconfined?.close()
})

let seq = 0
function checkRun(command: string, over: Partial<CheckRun> = {}): CheckRun & { started: SandboxHandle[] } {
  const started: SandboxHandle[] = []
  return {
    id: `sbx_check${++seq}`,
    specId: 'spec_0123456789',
    repo: { url: repo, branch: BRANCH, commit: head },
    command,
    timeoutS: 60,
    onStarted: async (handle) => void started.push(handle),
    signal: new AbortController().signal,
    started,
    ...over,
  }
}

describe('the check on the spec branch, in a local check sandbox', () => {
  it('runs on the spec branch at the commit, in a working copy of its own', async () => {
    const run = checkRun('git rev-parse --abbrev-ref HEAD && git rev-parse HEAD && pwd && echo "$OMOI_SANDBOX_ID" && ls', {
      repo: { url: repo, branch: BRANCH, commit: first },
    })
    const check = await provider.runCheck(run)
    expect(check).toMatchObject({ command: run.command, exit_code: 0, passed: true })
    const workspace = join(dataDir, 'sandboxes', run.id, 'workspace')
    expect(check.output_tail.split('\n')).toEqual([BRANCH, first, workspace, run.id, 'README.md', 'index.js', ''])
    expect(run.started).toEqual([{ id: run.id, externalId: expect.stringMatching(/^\d+$/) }])
    // nothing of the sandbox is left once it has answered
    expect(await readdir(join(dataDir, 'sandboxes'))).not.toContain(run.id)
  })

  it('reaches nothing of the host but its working copy', async () => {
    const outside = async (command: string) => (await provider.runCheck(checkRun(command))).passed
    expect(await outside(`cat ${join(secrets, 'token')}`)).toBe(false)
    expect(await outside(`cat ${join(process.cwd(), 'package.json')}`)).toBe(false)
    expect(await outside(`ls ${repo}`)).toBe(false)
    expect(await outside('touch /usr/omoi-was-here')).toBe(false)
    // the data directory lies under /tmp here, which is the sandbox's own: a file written there never reaches the host
    await outside(`touch ${join(dataDir, 'escaped')}`)
    // a PID namespace of its own: the server's process is not there
    expect(await outside(`test -n "$(ls /proc | grep -x ${process.pid})"`)).toBe(false)
    expect(await outside('echo built > out.txt && node -e "process.exit(0)"')).toBe(true)
    expect(await readdir(dataDir)).not.toContain('escaped')
  })

  it('fails past its time limit, caps its output, and a stop ends it', async () => {
    const late = await provider.runCheck(checkRun('echo started; sleep 30', { timeoutS: 1 }))
    expect(late).toMatchObject({ exit_code: null, passed: false, output_tail: 'started\n' })

    const chatty = await provider.runCheck(checkRun('for i in $(seq 1 3000); do echo "line $i"; done; exit 3'))
    expect(chatty).toMatchObject({ exit_code: 3, passed: false })
    expect(Array.from(chatty.output_tail).length).toBe(CHECK_OUTPUT_CAP)
    expect(chatty.output_tail.endsWith('line 3000\n')).toBe(true)

    const stop = new AbortController()
    const run = checkRun('touch started; sleep 30', { signal: stop.signal, onStarted: async () => void stop.abort() })
    const error = await provider.runCheck(run).catch((err: unknown) => err)
    expect(error).toBeInstanceOf(SandboxError)
    expect((error as Error).message).toBe('the check was stopped')
    expect(await readdir(join(dataDir, 'sandboxes'))).not.toContain(run.id)
  })

  it("is decided by its command alone: the branch's dotfiles are neither shell start-up nor the user's configuration", async () => {
    // the agent wrote the branch: a login shell with the working copy as HOME would read these first, and git its .gitconfig
    const scratch = await tempDir('check-dotfiles')
    await git(scratch, 'clone', '-q', '-b', BRANCH, repo, 'w')
    const work = join(scratch, 'w')
    for (const file of ['.bash_profile', '.bash_login', '.profile', '.bashrc']) await writeFile(join(work, file), `echo "read ${file}"; exit 0\n`)
    await writeFile(join(work, '.gitconfig'), '[alias]\n\tverify = !exit 0\n')
    await git(work, 'add', '-A')
    await git(work, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'startup files')
    await git(work, 'push', '-q', 'origin', `HEAD:refs/heads/${BRANCH}-dotfiles`)
    const commit = await git(work, 'rev-parse', 'HEAD')
    const onBranch = (command: string) => checkRun(command, { repo: { url: repo, branch: `${BRANCH}-dotfiles`, commit } })
    for (const [name, sandboxes] of [['bwrap', provider], ['none', unconfined]] as const) {
      expect(await sandboxes.runCheck(onBranch('echo checking; exit 3')), name).toMatchObject({ exit_code: 3, passed: false, output_tail: 'checking\n' })
      const check = await sandboxes.runCheck(onBranch('git verify'))
      expect(check, name).toMatchObject({ exit_code: 1, passed: false })
      expect(check.output_tail, name).toContain("'verify' is not a git command")
    }
  })

  it("does not run omoi's own tools: what npm start put on the server's PATH is not on the check's", async () => {
    const saved = process.env.PATH
    process.env.PATH = `${join(process.cwd(), 'node_modules', '.bin')}:${saved}`
    try {
      // the project has no vitest; omoi's node_modules/.bin has one
      for (const [name, sandboxes] of [['bwrap', provider], ['none', unconfined]] as const) {
        expect(await sandboxes.runCheck(checkRun('command -v vitest')), name).toMatchObject({ exit_code: 1, passed: false, output_tail: '' })
      }
    } finally {
      process.env.PATH = saved
    }
  })

  it('without bubblewrap runs as local sandboxes then do: unconfined, in its own working copy', async () => {
    const run = checkRun(`pwd && cat ${join(secrets, 'token')}`)
    const check = await unconfined.runCheck(run)
    expect(check).toMatchObject({ passed: true, output_tail: `${join(dataDir, 'sandboxes', run.id, 'workspace')}\ndo not read me` })
    expect(await readFile(join(secrets, 'token'), 'utf8')).toBe('do not read me')
  })
})

describe('the network of a check sandbox', () => {
  it('reaches nothing listening on the host’s loopback, not even through the NAT’s gateway, whatever its network', async () => {
    const local = await listener('127.0.0.1')
    try {
      for (const [name, sandboxes] of [['nat', provider], ['none', noNetwork]] as const) {
        for (const command of [connects('127.0.0.1', local.port), connects('10.0.2.2', local.port), connects('127.0.0.1', 5432)]) {
          expect((await sandboxes.runCheck(checkRun(command))).passed, `${name}: ${command}`).toBe(false)
        }
        // its own loopback works: a check may start a server and test against it
        const own = 'node -e "const s = require(\'net\').createServer().listen(7777, \'127.0.0.1\', () => require(\'net\').connect(7777, \'127.0.0.1\', () => process.exit(0)))"'
        expect((await sandboxes.runCheck(checkRun(own))).passed, `${name}: its own loopback`).toBe(true)
      }
      expect(local.connections()).toBe(0)
    } finally {
      local.server.close()
    }
  })

  it.skipIf(!hostAddress)('with nat reaches this machine’s other addresses as any machine of the network would; with none, nothing', async () => {
    const outside = await listener(hostAddress!)
    try {
      expect((await provider.runCheck(checkRun(connects(hostAddress!, outside.port)))).passed).toBe(true)
      expect((await noNetwork.runCheck(checkRun(connects(hostAddress!, outside.port)))).passed).toBe(false)
      expect(outside.connections()).toBe(1)
    } finally {
      outside.server.close()
    }
  })
})
