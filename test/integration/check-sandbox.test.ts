import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createActor, toPromise } from 'xstate'
import { runCheckSandbox } from '../../src/actors/check-sandbox.ts'
import { createDeliveryActors } from '../../src/actors/delivery-actors.ts'
import { specBranch } from '../../src/actors/sandbox-setup.ts'
import type { Database } from '../../src/db/connect.ts'
import { insertProject } from '../../src/db/projects.ts'
import { insertSandbox, type SandboxRow } from '../../src/db/sandboxes.ts'
import { findSpec, insertSpec } from '../../src/db/specs.ts'
import { insertUser } from '../../src/db/users.ts'
import { newId } from '../../src/ids.ts'
import { createDaytonaProvider } from '../../src/sandbox/daytona.ts'
import { SandboxLostError, type CheckRun, type SandboxHandle, type SandboxProvider } from '../../src/sandbox/provider.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeDaytona, type FakeDaytona } from '../support/fake-daytona.ts'
import { startGitGate, type GitGate } from '../support/git-gate.ts'
import { git, makeRepo } from '../support/repo.ts'
import { tempDir } from '../support/temp.ts'

/**
 * The check on the spec branch goes through the sandbox provider: a sandbox row of kind `check` per try, ended when the
 * check is done; a lost sandbox is replaced; what a check cut short by a restart left behind is ended and stopped.
 */
let database: Database
let daytona: FakeDaytona
let gate: GitGate
let dataDir: string
let userId: string

beforeAll(async () => {
  database = await freshDatabase()
  daytona = await startFakeDaytona()
  dataDir = await tempDir('check-sandbox')
  userId = newId('usr')
  await insertUser(database.sql, { id: userId, email: `${userId}@example.com`, name: 'Owner', role: 'user', password_hash: 'x' })
})
afterAll(async () => {
  await gate?.close()
  await daytona?.close()
  await database?.close()
})

async function specOn(repoUrl: string): Promise<string> {
  const project = await insertProject(database.sql, {
    id: newId('prj'),
    owner_id: userId,
    name: 'Shop',
    repo_url: repoUrl,
    default_branch: 'main',
    check_command: 'npm run suite',
  })
  const specId = newId('spec')
  await insertSpec(database.sql, {
    id: specId,
    project_id: project.id,
    user_id: userId,
    title: 'Carts',
    description: 'add carts',
    approval: 'auto',
    budget_usd: null,
    kind: 'quick',
  })
  return specId
}

const rowsOf = (specId: string) => database.sql<SandboxRow[]>`select * from sandboxes where spec_id = ${specId} order by created_at, generation`

describe('the check on the spec branch, through the sandbox provider', () => {
  it('on Daytona: runs in a check sandbox on the branch head, and its result is what the spec delivers', async () => {
    const repo = await makeRepo()
    const specId = await specOn('pending')
    const branch = specBranch(specId)
    await git(repo, 'checkout', '-q', '-b', branch)
    await writeFile(join(repo, 'cart.js'), 'export const cart = []\n')
    await git(repo, 'add', '-A')
    await git(repo, 'commit', '-q', '-m', 'carts')
    const head = await git(repo, 'rev-parse', 'HEAD')
    gate = await startGitGate(repo)
    await database.sql`update projects set repo_url = ${gate.url} where id = (select project_id from specs where id = ${specId})`

    const provider = createDaytonaProvider({ apiKey: daytona.apiKey, apiUrl: daytona.url, workerBundlePath: join(dataDir, 'worker.mjs') })
    // the spec has no actor row here: any lease passes the fence
    const { integrator } = createDeliveryActors({ sql: database.sql, dataDir, provider, fence: () => ({ node: 'test', epoch: 1 }) })
    daytona.failCommand('npm run suite', 'FAIL cart.test.js: expected an empty cart')
    const actor = createActor(integrator, { input: { specId, branch, checkCommand: 'npm run suite', round: 1 } })
    actor.start()
    const output = await toPromise(actor)
    await provider.close()

    expect(output).toEqual({
      commit: head,
      sandboxId: expect.stringMatching(/^sbx_/),
      check: expect.objectContaining({ command: 'npm run suite', exit_code: 1, passed: false, output_tail: 'FAIL cart.test.js: expected an empty cart' }),
    })
    const [row] = await rowsOf(specId)
    expect(row).toMatchObject({ id: output.sandboxId, kind: 'check', provider: 'daytona', status: 'ended', end_reason: 'the check finished', token_hash: null })
    const remote = daytona.sandboxes.get(row!.external_id!)!
    expect(remote.labels).toMatchObject({ 'omoi.sandbox': output.sandboxId, 'omoi.kind': 'check', 'omoi.spec': specId })
    expect(remote.clones).toEqual([expect.objectContaining({ url: gate.url, branch })])
    expect(remote.sessions.get('omoi-check')!.map((c) => c.command)[0]).toContain(`'${head}'`)
    expect(remote.state).toBe('destroyed')
    expect((await findSpec(database.sql, specId))!.delivery).toMatchObject({ commit: head, check: { command: 'npm run suite', passed: false } })
  })

  it('replaces a lost check sandbox, and ends and stops what an interrupted check left behind', async () => {
    const specId = await specOn('/srv/repos/shop')
    const leftover = await insertSandbox(database.sql, {
      id: newId('sbx'),
      spec_id: specId,
      kind: 'check',
      phase: 'execute',
      task_id: null,
      attempt: 1,
      generation: 0,
      token_hash: null,
      provider: 'local',
    })
    await database.sql`update sandboxes set status = 'running', external_id = '4242' where id = ${leftover.id}`
    const stopped: SandboxHandle[] = []
    const runs: CheckRun[] = []
    const provider = {
      name: 'local',
      stop: async (handle: SandboxHandle) => void stopped.push(handle),
      runCheck: async (run: CheckRun) => {
        runs.push(run)
        await run.onStarted({ id: run.id, externalId: String(1000 + runs.length) })
        if (runs.length === 1) throw new SandboxLostError("the check's sandbox was killed (SIGKILL)")
        return { command: run.command, exit_code: 0, passed: true, duration_ms: 5, output_tail: 'ok\n' }
      },
    } as unknown as SandboxProvider
    const run = { specId, round: 2, url: '/srv/repos/shop', branch: specBranch(specId), commit: 'abc1234', command: 'make test' }
    const result = await runCheckSandbox({ sql: database.sql, provider, fence: { node: 'test', epoch: 1 } }, run, new AbortController().signal)

    expect(result.check).toMatchObject({ passed: true, output_tail: 'ok\n' })
    expect(stopped).toEqual([{ id: leftover.id, externalId: '4242' }])
    const rows = await rowsOf(specId)
    expect(rows.map((r) => [r.id, r.attempt, r.generation, r.status, r.external_id, r.end_reason])).toEqual([
      [leftover.id, 1, 0, 'ended', '4242', 'replaced: the check runs again after a restart'],
      [runs[0]!.id, 2, 0, 'ended', '1001', "the check did not finish: the check's sandbox was killed (SIGKILL)"],
      [result.sandboxId, 2, 1, 'ended', '1002', 'the check finished'],
    ])
    expect(runs.map((r) => r.repo)).toEqual([run, run].map(({ url, branch, commit }) => ({ url, branch, commit })))
  })
})
