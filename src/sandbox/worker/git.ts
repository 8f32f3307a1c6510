import { TOKEN_CREDENTIALS, unattendedGit } from './unattended-git.ts'

const IDENTITY = ['-c', 'user.name=omoi agent', '-c', 'user.email=agent@omoi.local']
// With OMOI_GIT_TOKEN (a private remote, e.g. on Daytona), git reads the token from the environment
const CREDENTIALS = process.env.OMOI_GIT_TOKEN ? TOKEN_CREDENTIALS : []

/** git's output, trimmed; a failure is an Error in git's own words (unattendedGit). */
const git = async (cwd: string, args: string[], config: string[] = []): Promise<string> => (await unattendedGit(cwd, [...config, ...args])).trim()

/**
 * Commits everything in the workspace (an empty commit when nothing changed) and force-pushes it to the task's
 * branch on origin. Answers the commit id.
 */
export async function commitAndPush(cwd: string, message: string, branch: string): Promise<string> {
  await git(cwd, ['add', '-A'])
  await git(cwd, ['commit', '--allow-empty', '--no-verify', '-q', '-m', message], IDENTITY)
  const commit = await git(cwd, ['rev-parse', 'HEAD'])
  await git(cwd, ['push', '-q', '-f', 'origin', `HEAD:refs/heads/${branch}`], CREDENTIALS)
  return commit
}

/** The commit the work started from: where HEAD leaves the branch the workspace was made from (`origin/<branch>`). */
export async function startCommit(cwd: string, baseBranch: string): Promise<string> {
  return git(cwd, ['merge-base', 'HEAD', `refs/remotes/origin/${baseBranch}`])
}

/**
 * Files that differ between two commits, by their names. Read NUL-separated (`-z`): otherwise git quotes a name outside
 * ASCII as `"caf\303\251.txt"` or not, as `core.quotePath` says (on by default, either way in a user's ~/.gitconfig),
 * and the quoted form names no file. With `git diff-tree`, git's plumbing, whose output no `diff.*` setting of the
 * user's changes (an unconfined worker reads ~/.gitconfig).
 */
export async function changedFiles(cwd: string, from: string, to: string): Promise<string[]> {
  const out = await git(cwd, ['diff-tree', '-r', '--name-only', '-z', '--no-renames', from, to])
  return out.split('\0').filter(Boolean)
}
