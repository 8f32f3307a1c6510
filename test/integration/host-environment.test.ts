import { execFile } from 'node:child_process'
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { allEvents, startWithModel, waitForStatus } from '../support/omoi.ts'
import { git, makeRepo } from '../support/repo.ts'
import type { TestServer } from '../support/server.ts'
import { tempDir } from '../support/temp.ts'

/**
 * A developer's own git settings and environment, which the server (and an unconfined worker) inherit, must not
 * change what omoi makes. Each spec here runs on such a host, in bubblewrap and unconfined: a ~/.gitconfig that signs
 * commits, tags and pushes (with a program that always fails, as a missing key does), runs hooks of the user's own
 * (a global hooksPath, and a template that copies them into every clone), sends push options, verifies signatures on merges, checks text out with CRLF, changes what `git diff` prints
 * (an external diff program, no a/ b/ prefixes, a relative order file), names a clone's remote otherwise, turns off
 * checkout's guess of a remote branch and refuses bare repositories it finds itself; a global ignore file and a global
 * attributes file; a GIT_DIR exported by a shell that was in another repository; and an identity exported for git.
 */
const exec = promisify(execFile)
const HOST_ENV = ['HOME', 'GIT_DIR', 'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL']
const saved = Object.fromEntries(HOST_ENV.map((key) => [key, process.env[key]]))
/** The developer's ~/.gitconfig, with their hooks in `home`/hooks and a template in `home`/template. */
const hostileGitconfig = (home: string) => `[commit]
\tgpgsign = true
[tag]
\tgpgSign = true
[gpg]
\tprogram = false
[init]
\ttemplateDir = ${join(home, 'template')}
[push]
\tgpgSign = true
\tpushOption = ci.skip
[core]
\tautocrlf = true
\thooksPath = ${join(home, 'hooks')}
[diff]
\tnoprefix = true
\texternal = false
\torderFile = .gitorder
[color]
\tui = always
[merge]
\tverifySignatures = true
[clone]
\tdefaultRemoteName = upstream
[checkout]
\tguess = false
[safe]
\tbareRepository = explicit
`

const HOSTS = [
  { name: 'a GIT_DIR left exported by a shell that was in some other repository', gitconfig: false, gitDir: true, identity: false },
  { name: "a developer's ~/.gitconfig, hooks, global ignore and attributes files", gitconfig: true, gitDir: false, identity: false },
  { name: "a developer's identity exported for git (GIT_AUTHOR_*, GIT_COMMITTER_*)", gitconfig: false, gitDir: false, identity: true },
]

for (const host of HOSTS)
for (const isolation of ['none', 'bwrap'] as const) {
  describe(`${host.name} (OMOI_SANDBOX_ISOLATION=${isolation})`, () => {
    let server: TestServer
    let model: FakeModel
    let owner: Api
    let repo: string
    /** Where the developer's hooks write that they ran (each also fails). */
    let hooksRan: string

    beforeAll(async () => {
      repo = await makeRepo() // with the machine's own configuration
      // a check that a CRLF checkout breaks: `exit 0\r` is no number to bash
      await writeFile(join(repo, 'check.sh'), 'echo checked\nexit 0\n')
      await git(repo, 'add', '-A')
      await git(repo, 'commit', '-q', '-m', 'check script')
      const home = await tempDir('hostile-home')
      hooksRan = join(home, 'hooks-ran')
      await writeFile(join(home, '.gitconfig'), host.gitconfig ? hostileGitconfig(home) : '')
      if (host.gitconfig) {
        await mkdir(join(home, 'hooks'))
        for (const hook of ['pre-commit', 'commit-msg', 'pre-merge-commit', 'post-commit', 'pre-push']) {
          await writeFile(join(home, 'hooks', hook), `#!/bin/sh\necho ${hook} >> ${hooksRan}\nexit 1\n`)
          await chmod(join(home, 'hooks', hook), 0o755)
        }
        await mkdir(join(home, 'template'))
        await symlink(join(home, 'hooks'), join(home, 'template', 'hooks'))
        // and a global ignore file (git's default place for it) that would hide the agent's work,
        await mkdir(join(home, '.config', 'git'), { recursive: true })
        await writeFile(join(home, '.config', 'git', 'ignore'), 'omoi-*\n')
        // and global attributes that check shell scripts out with CRLF
        await writeFile(join(home, '.config', 'git', 'attributes'), '*.sh text eol=crlf\n')
      }
      process.env.HOME = home
      if (host.gitDir) process.env.GIT_DIR = join(await tempDir('elsewhere'), '.git')
      if (host.identity) {
        process.env.GIT_AUTHOR_NAME = process.env.GIT_COMMITTER_NAME = 'Operator'
        process.env.GIT_AUTHOR_EMAIL = process.env.GIT_COMMITTER_EMAIL = 'operator@host.example'
      }
      ;({ server, model } = await startWithModel({}, { OMOI_SANDBOX_ISOLATION: isolation }))
      owner = await asUser(server.url, 'Owner')
    })
    afterAll(async () => {
      await server?.stop()
      await model?.close()
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key]
        else process.env[key] = value
      }
    })

    it('the spec completes, its check passes, and its diff is the plain unified diff of its branch', async () => {
      const project = (await owner.post('/projects', { name: 'Shop', repo_url: repo, check_command: 'bash check.sh' })).body
      const launch = await owner.post('/specs/launch', { project_id: project.id, title: 'Hostile host', description: 'add OAuth login' })
      expect(launch.status).toBe(201)
      const specId = launch.body.spec_id

      const spec = await waitForStatus(owner, specId, ['completed', 'failed'])
      const failures = (await allEvents(owner, specId)).filter((e) => /failed|lost|rejected/.test(e.type))
      expect(spec.status, JSON.stringify(failures)).toBe('completed')
      expect(spec.delivery.check).toMatchObject({ command: 'bash check.sh', passed: true })
      // the branch holds the repository's bytes: no file became CRLF on the way
      const clean = Object.fromEntries(Object.entries({ ...process.env, HOME: saved.HOME, GIT_DIR: join(repo, '.git') }).filter(([key]) => !/^GIT_(AUTHOR|COMMITTER)_/.test(key)))
      // omoi's commits are omoi's, not the operator's, none signed, and none of the developer's hooks ran
      const people = (await exec('git', ['log', '--format=%an <%ae>|%cn <%ce>|%G?', `main..${spec.delivery.branch}`], { env: clean })).stdout.trim().split('\n')
      expect([...new Set(people)].sort()).toEqual(['omoi <omoi@omoi.local>|omoi <omoi@omoi.local>|N', 'omoi agent <agent@omoi.local>|omoi agent <agent@omoi.local>|N'])
      expect(await readFile(hooksRan, 'utf8').catch(() => '')).toBe('')
      const changed = (await exec('git', ['diff', '--name-only', 'main', spec.delivery.branch], { env: clean })).stdout.trim().split('\n')
      expect(changed.sort()).toEqual(['omoi-TSK-001.txt', 'omoi-TSK-002.txt', 'omoi-TSK-003.txt', 'omoi-TSK-004.txt'])

      const patch = await owner.get(`/specs/${specId}/diff?format=patch&path=omoi-TSK-003.txt`)
      expect(patch.status, JSON.stringify(patch.body)).toBe(200)
      expect(patch.body).toContain('diff --git a/omoi-TSK-003.txt b/omoi-TSK-003.txt\n')
      expect(patch.body).toContain('+++ b/omoi-TSK-003.txt\n')
      expect(patch.body).toContain('+done by the fake model for TSK-003\n')
      expect(patch.body).not.toContain('\x1b[')
    }, 180_000)
  })
}
