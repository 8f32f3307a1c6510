import { mkdir, rm, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { OMOI_IDENTITY, TOKEN_CREDENTIALS, unattendedGit } from '../sandbox/worker/unattended-git.ts'

/**
 * Git as the server runs it for delivery: the working copy a spec's merges are made in. No project command runs here
 * (the check runs in a sandbox, src/actors/check-sandbox.ts). No shell; a token (OMOI_GIT_TOKEN) reaches git through a
 * credential helper reading the environment, never a URL.
 */

export class GitError extends Error {
  override name = 'GitError'
}

/**
 * Runs git in `cwd` as omoi's identity (unattendedGit), with `token` as the credentials of any remote it talks to.
 * Answers stdout without its last newline; throws GitError in git's own words.
 */
export async function git(cwd: string, args: string[], opts: { token?: string } = {}): Promise<string> {
  try {
    const credentials = opts.token ? TOKEN_CREDENTIALS : []
    const stdout = await unattendedGit(cwd, [...OMOI_IDENTITY, ...credentials, ...args], opts.token ? { OMOI_GIT_TOKEN: opts.token } : {})
    return stdout.replace(/\n$/, '')
  } catch (err) {
    throw new GitError((err as Error).message)
  }
}

const exists = (path: string) => stat(path).then(() => true, () => false)

/** A working copy of `url` at `dir` (cloned once, fetched every time), with every branch of origin fresh. */
export async function freshClone(dir: string, url: string, token?: string): Promise<void> {
  if (!(await exists(`${dir}/.git`))) {
    await rm(dir, { recursive: true, force: true })
    await mkdir(dirname(dir), { recursive: true })
    await git(dirname(dir), ['clone', '-q', '--no-checkout', '--', url, dir], { token })
  }
  await git(dir, ['fetch', '-q', '--prune', 'origin', '+refs/heads/*:refs/remotes/origin/*'], { token })
}

/** The commit a branch of origin points at, or null (after freshClone). */
export async function remoteHead(dir: string, branch: string): Promise<string | null> {
  return git(dir, ['rev-parse', '-q', '--verify', `refs/remotes/origin/${branch}^{commit}`]).catch(() => null)
}

/** Checks out `branch` as origin has it, discarding whatever a crashed earlier step left behind. */
export async function checkoutClean(dir: string, branch: string): Promise<string> {
  await git(dir, ['merge', '--abort']).catch(() => {})
  await git(dir, ['checkout', '-q', '-f', '-B', branch, `refs/remotes/origin/${branch}`])
  await git(dir, ['reset', '-q', '--hard'])
  await git(dir, ['clean', '-q', '-fdx'])
  return git(dir, ['rev-parse', 'HEAD'])
}

export type MergeOutcome = { merged: true; commit: string } | { merged: false; files: string[]; conflictCommit: string }

/**
 * Merges `commit` into the checked-out branch. Merged already (a repeated step): answers the head. A conflict is
 * committed with its markers (for a fix-up run to resolve) and the branch is reset to where it was.
 */
export async function mergeCommit(dir: string, commit: string, message: string): Promise<MergeOutcome> {
  const head = await git(dir, ['rev-parse', 'HEAD'])
  const contained = await git(dir, ['merge-base', '--is-ancestor', commit, head]).then(() => true, () => false)
  if (contained) return { merged: true, commit: head }
  try {
    await git(dir, ['merge', '-q', '--no-ff', '--no-edit', '-m', message, commit])
    return { merged: true, commit: await git(dir, ['rev-parse', 'HEAD']) }
  } catch (err) {
    // NUL-separated: the names as they are (a fix-up reads these files), not quoted as core.quotePath says; plumbing,
    // whose output no diff.* setting of the user's changes
    const conflicted = await git(dir, ['diff-files', '--name-only', '-z', '--diff-filter=U']).catch(() => '')
    if (!conflicted) {
      await git(dir, ['merge', '--abort']).catch(() => {})
      throw err
    }
    const files = conflicted.split('\0').filter(Boolean)
    await git(dir, ['add', '-A'])
    await git(dir, ['commit', '-q', '--no-verify', '-m', `${message} (conflicts in ${files.join(', ')})`])
    const conflictCommit = await git(dir, ['rev-parse', 'HEAD'])
    await git(dir, ['reset', '-q', '--hard', head])
    return { merged: false, files, conflictCommit }
  }
}

/** How often a merge is redone when its push loses the race for the branch to another push. */
const PUSH_ROUNDS = 3

/**
 * Merges `commit` into `branch` of the repository at `url` through the working copy `dir`, and pushes it. A push is
 * git's compare-and-swap on the branch: when another push landed first (the node that ran the spec before a takeover,
 * still finishing its step), the push is refused, and the merge is redone on what the branch holds now — where it
 * usually finds the commit merged already. A conflict is answered as mergeCommit does, nothing pushed to `branch`.
 * Throws GitError when the push still fails after PUSH_ROUNDS rounds.
 */
export async function mergeAndPush(
  dir: string,
  url: string,
  m: { branch: string; commit: string; message: string; token?: string },
): Promise<MergeOutcome> {
  for (let round = 1; ; round++) {
    await freshClone(dir, url, m.token)
    await checkoutClean(dir, m.branch)
    const outcome = await mergeCommit(dir, m.commit, m.message)
    if (!outcome.merged) return outcome
    try {
      await git(dir, ['push', '-q', 'origin', `HEAD:refs/heads/${m.branch}`], { token: m.token })
      return outcome
    } catch (err) {
      if (round >= PUSH_ROUNDS) throw err
    }
  }
}
