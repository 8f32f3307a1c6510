import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import { git, makeRepo } from '../support/repo.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

/**
 * Issue 16 case 5: a local `repo_url` must be a git repository under OMOI_REPO_ROOTS (symlinks and `..` resolved first),
 * and outside omoi's own part of the data directory; git URLs pass as before.
 */

let server: TestServer
let api: Api
let roots: string
let outside: string
beforeAll(async () => {
  roots = await mkdtemp(join(tmpdir(), 'omoi-roots-'))
  outside = await makeRepo()
  server = await startTestServer({ OMOI_REPO_ROOTS: roots })
  api = await asUser(server.url, 'Owner')
})
afterAll(async () => {
  await server?.stop()
  await rm(roots, { recursive: true, force: true })
  await rm(outside, { recursive: true, force: true })
})

const create = (repo_url: string) => api.post('/projects', { name: 'Repo', repo_url })

describe('POST /projects with a local repo_url', () => {
  it('works from the branch the repository has: its HEAD by default, a missing one is a 400', async () => {
    const repo = join(roots, 'legacy')
    await mkdir(repo)
    await git(repo, 'init', '-q', '-b', 'master')
    await git(repo, 'commit', '-q', '--allow-empty', '-m', 'first')
    const made = await create(repo)
    expect(made.status, JSON.stringify(made.body)).toBe(201)
    expect(made.body.default_branch).toBe('master')
    const missing = await api.post('/projects', { name: 'Repo', repo_url: repo, default_branch: 'develop' })
    expect(missing.status).toBe(400)
    expect(missing.body.error.fields.default_branch[0]).toMatch(/does not have \(its HEAD is master\)/)
  })

  it('takes a git repository under a root, stored by its real path', async () => {
    const repo = join(roots, 'shop')
    await mkdir(repo)
    await git(repo, 'init', '-q', '-b', 'main')
    const res = await create(join(roots, 'x', '..', 'shop'))
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.repo_url).toBe(repo)
    const bare = join(roots, 'bare.git')
    await git(roots, 'init', '-q', '--bare', bare)
    expect((await create(`file://${bare}`)).status).toBe(201)
  })

  it.each([
    ['outside every root', () => outside, /OMOI_REPO_ROOTS/],
    ['outside through ..', () => join(roots, '..', outside.split('/').at(-1)!), /OMOI_REPO_ROOTS/],
    ['outside through a symlink under a root', () => join(roots, 'link'), /OMOI_REPO_ROOTS/],
    ['as a file:// URL outside', () => `file://${outside}`, /OMOI_REPO_ROOTS/],
    ['a directory that is no repository', () => join(roots, 'plain'), /not a git repository/],
    ['missing', () => join(roots, 'missing'), /not an existing directory/],
  ])('refuses a path %s with 400 naming repo_url', async (_what, path, message) => {
    await symlink(outside, join(roots, 'link')).catch(() => {})
    await mkdir(join(roots, 'plain'), { recursive: true })
    const res = await create(path())
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('invalid_body')
    expect(res.body.error.fields.repo_url[0]).toMatch(message)
  })

  it('refuses another project’s repository that omoi keeps in the data directory, even with the data directory a root', async () => {
    const local = await startTestServer({ OMOI_REPO_ROOTS: '' })
    try {
      const owner = await asUser(local.url, 'Owner')
      const kept = join(local.dataDir, 'repos', 'prj_victim.git')
      await mkdir(join(local.dataDir, 'repos'), { recursive: true })
      await git(local.dataDir, 'init', '-q', '--bare', kept)
      const res = await owner.post('/projects', { name: 'Sneaky', repo_url: kept })
      expect(res.status).toBe(400)
      expect(res.body.error.fields.repo_url[0]).toMatch(/omoi’s own/)
      // the data directory is the only root by default: a test repository in the temporary directory is refused
      expect((await owner.post('/projects', { name: 'Elsewhere', repo_url: outside })).status).toBe(400)
    } finally {
      await local.stop()
    }
  })

  it('takes git URLs as before', async () => {
    expect((await create('https://example.com/shop.git')).status).toBe(201)
    expect((await create('git@example.com:acme/shop.git')).status).toBe(201)
  })
})
