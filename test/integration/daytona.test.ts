import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDaytonaProvider, type DaytonaProvider } from '../../src/sandbox/daytona.ts'
import { SandboxError, SandboxLostError, type CheckRun, type SandboxHandle, type SandboxSpec } from '../../src/sandbox/provider.ts'
import { startFakeDaytona, type FakeDaytona, type FakeSandbox } from '../support/fake-daytona.ts'

const GIT_TOKEN = 'ghp_not-a-real-token-0123456789'
const BUNDLE = '// the worker bundle\nconsole.log("worker")\n'

let fake: FakeDaytona
let dir: string
const providers: DaytonaProvider[] = []

beforeAll(async () => {
  fake = await startFakeDaytona()
  dir = await mkdtemp(join(tmpdir(), 'omoi-daytona-'))
  await writeFile(join(dir, 'worker.mjs'), BUNDLE)
})

afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()))
  await fake?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

function provider(apiKey = fake.apiKey): DaytonaProvider {
  const p = createDaytonaProvider({
    apiKey,
    apiUrl: fake.url,
    target: 'us',
    workerBundlePath: join(dir, 'worker.mjs'),
    gitToken: GIT_TOKEN,
  })
  providers.push(p)
  return p
}

let seq = 0
function taskSpec(over: Partial<SandboxSpec['repo']> = {}): SandboxSpec {
  const id = `sbx_test${++seq}`
  return {
    id,
    kind: 'task',
    specId: 'spec_01testspec',
    taskId: 'TSK-2',
    env: {
      OMOI_SANDBOX_ID: id,
      OMOI_SANDBOX_TOKEN: `token-of-${id}`,
      OMOI_CALLBACK_URL: 'https://omoi.example.com',
      SPEC_ID: 'spec_01testspec',
      TASK_ID: 'TSK-2',
    },
    repo: {
      url: 'https://github.com/acme/app.git',
      baseBranch: 'main',
      workBranch: 'omoi/spec_01testspec/TSK-2',
      mergeBranches: ['omoi/spec_01testspec/TSK-1'],
      ...over,
    },
  }
}

function commands(sandbox: FakeSandbox, session: string): string[] {
  return (sandbox.sessions.get(session) ?? []).map((c) => c.command)
}

describe('Daytona provider (real SDK against a fake Daytona API)', () => {
  it('starts a sandbox, re-attaches after a restart, and stops it', async () => {
    const spec = taskSpec()
    const first = provider()
    const handle = await first.start(spec)
    expect(handle.id).toBe(spec.id)

    const sandbox = fake.sandboxes.get(handle.externalId)!
    expect(sandbox.env).toEqual(spec.env)
    expect(sandbox.labels).toMatchObject({
      'omoi.sandbox': spec.id,
      'omoi.spec': 'spec_01testspec',
      'omoi.kind': 'task',
      'omoi.task': 'TSK-2',
    })
    expect(sandbox.autoStopInterval).toBeGreaterThan(0)
    expect(sandbox.autoDeleteInterval).toBeGreaterThan(0)

    // The base branch and the dependency are cloned with the token as credentials, never inside a URL.
    expect(sandbox.clones).toEqual([
      expect.objectContaining({ url: spec.repo.url, path: '/home/daytona/workspace', branch: 'main', password: GIT_TOKEN }),
      expect.objectContaining({ url: spec.repo.url, branch: 'omoi/spec_01testspec/TSK-1', password: GIT_TOKEN }),
    ])
    const setup = commands(sandbox, 'omoi-setup')
    expect(setup.some((c) => c.includes("git checkout -q -B 'omoi/spec_01testspec/TSK-2'"))).toBe(true)
    expect(setup.some((c) => c.includes("'omoi/spec_01testspec/TSK-1'") && c.includes('merge'))).toBe(true)
    const nonClone = fake.requests.filter((r) => !r.path.endsWith('/git/clone'))
    expect(JSON.stringify(nonClone)).not.toContain(GIT_TOKEN)

    expect(sandbox.files.get('/home/daytona/omoi-worker.mjs')?.toString()).toBe(BUNDLE)
    const [worker] = sandbox.sessions.get('omoi-worker')!
    expect(worker).toMatchObject({ runAsync: true })
    expect(worker!.command).toContain("node '/home/daytona/omoi-worker.mjs'")
    expect(await first.status(handle)).toBe('running')

    // A restarted server has only the recorded handle, or only our id.
    const second = provider()
    expect(await second.status(handle)).toBe('running')
    expect(await second.findSandboxByLabel(spec.id)).toEqual(handle)
    expect(await second.status({ id: spec.id, externalId: '' })).toBe('running')

    await second.stop(handle)
    expect(sandbox.state).toBe('destroyed')
    expect(await second.status(handle)).toBe('exited')
    expect(await second.findSandboxByLabel(spec.id)).toBeNull()
    await expect(second.stop(handle)).resolves.toBeUndefined()
  })

  it('reports exited when the worker has ended or Daytona stopped the sandbox', async () => {
    const p = provider()
    const ended = await p.start(taskSpec({ mergeBranches: [] }))
    const stopped = await p.start(taskSpec({ mergeBranches: [] }))
    fake.sandboxes.get(ended.externalId)!.sessions.get('omoi-worker')![0]!.exitCode = 1
    fake.sandboxes.get(stopped.externalId)!.state = 'stopped'
    expect(await p.status(ended)).toBe('exited')
    expect(await p.status(stopped)).toBe('exited')
    await Promise.all([p.stop(ended), p.stop(stopped)])
  })

  it('replaces a sandbox left behind by an interrupted start, and starts from an empty repository', async () => {
    const p = provider()
    const spec = { ...taskSpec({ url: null, mergeBranches: [] }), kind: 'phase' as const, phase: 'requirements' }
    const before = await p.start(spec)
    const after = await p.start(spec)
    expect(after.externalId).not.toBe(before.externalId)
    expect(fake.sandboxes.get(before.externalId)!.state).toBe('destroyed')

    const sandbox = fake.sandboxes.get(after.externalId)!
    expect(sandbox.labels).toMatchObject({ 'omoi.kind': 'phase', 'omoi.phase': 'requirements' })
    expect(sandbox.clones).toEqual([])
    expect(commands(sandbox, 'omoi-setup')[0]).toBe("git init -q -b 'main' '/home/daytona/workspace'")
    await p.stop(after)
  })

  it('explains a refused API key', async () => {
    const err = await provider('wrong-key').start(taskSpec()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SandboxError)
    expect((err as Error).message).toBe('Daytona refused the API key (401): check DAYTONA_API_KEY')
  })

  it('explains a failed create without leaking internals', async () => {
    fake.failNext(500, { statusCode: 500, message: 'no runner available in region us' }, { method: 'POST', path: '/api/sandbox' })
    const err = await provider().start(taskSpec()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SandboxError)
    expect((err as Error).message).toBe('Daytona could not create the sandbox (500): no runner available in region us')
  })

  it('deletes the sandbox when the workspace cannot be prepared', async () => {
    fake.failCommand('merge', 'Automatic merge failed; fix conflicts and then commit the result.')
    const spec = taskSpec()
    const err = await provider().start(spec).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SandboxError)
    expect((err as Error).message).toBe(
      'Daytona could not prepare the workspace: merging omoi/spec_01testspec/TSK-1 failed: ' +
        'Automatic merge failed; fix conflicts and then commit the result.',
    )
    const left = [...fake.sandboxes.values()].filter((s) => s.labels['omoi.sandbox'] === spec.id)
    expect(left.map((s) => s.state)).toEqual(['destroyed'])
  })

  it('refuses a local repository path, which a remote sandbox cannot clone', async () => {
    const created = fake.sandboxes.size
    await expect(provider().start(taskSpec({ url: '/srv/repos/app' }))).rejects.toThrow(/local path/)
    expect(fake.sandboxes.size).toBe(created)
  })
})

describe('the check on the spec branch in a Daytona check sandbox', () => {
  const COMMIT = '0123456789abcdef0123456789abcdef01234567'
  function checkRun(started: SandboxHandle[], over: Partial<CheckRun> = {}): CheckRun {
    return {
      id: `sbx_check${++seq}`,
      specId: 'spec_01testspec',
      repo: { url: 'https://github.com/acme/app.git', branch: 'omoi/01testspec/spec', commit: COMMIT },
      command: 'npm run suite',
      timeoutS: 600,
      onStarted: async (handle) => void started.push(handle),
      signal: new AbortController().signal,
      ...over,
    }
  }

  it('runs the command on the branch at the commit in a sandbox of its own, answers what it did, and deletes it', async () => {
    fake.failCommand('npm run suite', 'FAIL src/cart.test.js\n2 tests failed')
    const started: SandboxHandle[] = []
    const run = checkRun(started)
    const failing = await provider().runCheck(run)
    expect(failing).toMatchObject({ command: 'npm run suite', exit_code: 1, passed: false, output_tail: 'FAIL src/cart.test.js\n2 tests failed' })

    const sandbox = fake.sandboxes.get(started[0]!.externalId)!
    expect(sandbox.labels).toMatchObject({ 'omoi.sandbox': run.id, 'omoi.spec': 'spec_01testspec', 'omoi.kind': 'check' })
    // no token: nothing in a check sandbox calls the server
    expect(sandbox.env).toEqual({ OMOI_SANDBOX_ID: run.id, SPEC_ID: 'spec_01testspec' })
    expect(sandbox.clones).toEqual([
      expect.objectContaining({ url: run.repo.url, path: '/home/daytona/workspace', branch: 'omoi/01testspec/spec', password: GIT_TOKEN }),
    ])
    const [checkout, check] = commands(sandbox, 'omoi-check')
    expect(checkout).toBe(`cd '/home/daytona/workspace' && git checkout -q -B 'omoi/01testspec/spec' '${COMMIT}'`)
    // as the agent's run_command ran it: no login shell
    expect(check).toContain('timeout -k 5 600 bash --noprofile --norc -c ')
    expect(check).toContain('npm run suite')
    expect(sandbox.state).toBe('destroyed')

    const passing = await provider().runCheck(checkRun(started))
    expect(passing).toMatchObject({ exit_code: 0, passed: true, output_tail: '' })
    expect(fake.sandboxes.get(started[1]!.externalId)!.state).toBe('destroyed')
  })

  it('tells a sandbox that went away under the check (to be replaced) from one that could not be made', async () => {
    const p = provider()
    const lost = await p
      .runCheck(checkRun([], { onStarted: async (handle) => void (fake.sandboxes.get(handle.externalId)!.state = 'destroyed') }))
      .catch((err: unknown) => err)
    expect(lost).toBeInstanceOf(SandboxLostError)
    expect((lost as Error).message).toMatch(/^the check's Daytona sandbox went away: /)

    fake.failNext(500, { statusCode: 500, message: 'no runner available in region us' }, { method: 'POST', path: '/api/sandbox' })
    const refused = await p.runCheck(checkRun([])).catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(SandboxError)
    expect(refused).not.toBeInstanceOf(SandboxLostError)
    await expect(p.runCheck(checkRun([], { repo: { url: '/srv/repos/app', branch: 'b', commit: COMMIT } }))).rejects.toThrow(/local path/)
  })
})
