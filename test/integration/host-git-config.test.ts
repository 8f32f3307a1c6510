import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { allEvents, startWithModel, waitForStatus } from '../support/omoi.ts'
import { git, makeRepo } from '../support/repo.ts'
import type { TestServer } from '../support/server.ts'
import { tempDir } from '../support/temp.ts'

/**
 * The server's git and an unconfined worker's read the host user's ~/.gitconfig. On a developer's machine that often
 * signs every commit and runs hooks of its own: omoi's commits (the agent's task commits, the merges of dependency
 * branches into a task's workspace, the merges into the spec branch) must not fail on that, nor run those hooks.
 */
const savedHome = process.env.HOME
let server: TestServer
let model: FakeModel
let owner: Api
let repo: string
let hooksRan: string

beforeAll(async () => {
  repo = await makeRepo() // with the machine's own configuration
  const home = await tempDir('git-home')
  const hooks = join(home, 'hooks')
  hooksRan = join(home, 'hooks-ran')
  await mkdir(hooks)
  for (const hook of ['pre-commit', 'commit-msg', 'pre-merge-commit', 'post-commit', 'pre-push']) {
    await writeFile(join(hooks, hook), `#!/bin/sh\necho ${hook} >> ${hooksRan}\nexit 1\n`)
    await chmod(join(hooks, hook), 0o755)
  }
  // signing with a program that always fails, as a signing key that is not there does
  // and the same hooks again in a template that every new clone would get
  await mkdir(join(home, 'template'))
  await symlink(hooks, join(home, 'template', 'hooks'))
  await writeFile(
    join(home, '.gitconfig'),
    `[commit]\n\tgpgsign = true\n[tag]\n\tgpgSign = true\n[gpg]\n\tprogram = false\n[core]\n\thooksPath = ${hooks}\n[init]\n\ttemplateDir = ${join(home, 'template')}\n`,
  )
  process.env.HOME = home
  ;({ server, model } = await startWithModel({}, { OMOI_SANDBOX_ISOLATION: 'none' }))
  owner = await asUser(server.url, 'Owner')
})
afterAll(async () => {
  await server?.stop()
  await model?.close()
  process.env.HOME = savedHome
})

describe("a host user's git configuration that signs every commit and runs hooks", () => {
  it('changes nothing of what omoi commits: the spec completes, its branch unsigned, no hook of the user run', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: repo })).body
    const launch = await owner.post('/specs/launch', { project_id: project.id, title: 'Signed host', description: 'add OAuth login' })
    expect(launch.status).toBe(201)
    const specId = launch.body.spec_id

    const spec = await waitForStatus(owner, specId, ['completed', 'failed'])
    const failures = (await allEvents(owner, specId)).filter((e) => /failed|lost|rejected/.test(e.type))
    expect(spec.status, JSON.stringify(failures)).toBe('completed')
    const branch = spec.delivery.branch as string
    // the spec branch holds the tasks' commits and omoi's merges of them, none signed
    const log = (await git(repo, 'log', '--format=%G?|%an|%s', branch)).split('\n')
    expect(log.filter((line) => line.includes('|omoi agent|omoi: TSK-')).length).toBeGreaterThan(1)
    expect(log.filter((line) => line.includes('|omoi|')).length).toBeGreaterThan(0)
    expect(log.filter((line) => !line.startsWith('N|'))).toEqual([])
    expect(await readIfThere(hooksRan)).toBe('')
  }, 120_000)
})

const readIfThere = (path: string) => import('node:fs/promises').then((fs) => fs.readFile(path, 'utf8').catch(() => ''))
