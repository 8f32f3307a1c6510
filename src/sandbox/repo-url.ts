import { realpath, stat } from 'node:fs/promises'
import { isAbsolute, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AppError } from '../errors.ts'
import { unattendedGit } from './worker/unattended-git.ts'

/** Directories of the data directory that omoi keeps for itself: never a project's repository. */
const OWN_DIRS = ['db', 'repos', 'sandboxes']

/** Is `path` `root` itself or below it? Both must be real paths (symlinks and `..` resolved). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (rel !== '..' && !rel.startsWith('../') && !isAbsolute(rel))
}

const refuse = (why: string) => new AppError('invalid_body', `repo_url ${why}.`, { repo_url: [why] })

const exists = (path: string) => stat(path).then(() => true, () => false)

/**
 * A project's `repo_url`, checked: a git URL passes as it is; a local path (or file:// URL) must be a git repository
 * lying, once symlinks and `..` are resolved, under one of `roots` (OMOI_REPO_ROOTS) and outside omoi's own
 * directories of `dataDir`. Answers the URL to store (a local one as its real path). Throws 400 `invalid_body`.
 */
export async function checkRepoUrl(url: string, options: { roots: string[]; dataDir: string }): Promise<string> {
  if (!url.startsWith('/') && !url.startsWith('file://')) return url
  let real: string
  try {
    real = await realpath(url.startsWith('file://') ? fileURLToPath(url) : url)
  } catch {
    throw refuse('is not an existing directory on the server')
  }
  const roots = await Promise.all(options.roots.map((root) => realpath(root).catch(() => null)))
  if (!roots.some((root) => root !== null && isWithin(root, real))) {
    throw refuse(`must lie under one of the directories of OMOI_REPO_ROOTS (${options.roots.join(':')})`)
  }
  const dataDir = await realpath(options.dataDir).catch(() => options.dataDir)
  if (OWN_DIRS.some((dir) => isWithin(join(dataDir, dir), real))) throw refuse('points into omoi’s own part of the data directory')
  const isRepo =
    (await exists(join(real, '.git'))) ||
    ((await exists(join(real, 'HEAD'))) && (await exists(join(real, 'objects'))) && (await exists(join(real, 'refs'))))
  if (!isRepo) throw refuse('is not a git repository')
  return real
}

/**
 * The branch a project on the local repository `real` (as checkRepoUrl answers it) works from: without `requested`, the
 * branch its HEAD names (not a guessed "main"); a `requested` branch the repository does not have is a 400 naming
 * default_branch (an empty repository, with no branch yet, takes any). So a project never learns at execution, after
 * every planning phase was paid for, that its branch is missing.
 */
export async function localDefaultBranch(real: string, requested: string | undefined): Promise<string> {
  const run = (...args: string[]) => unattendedGit(real, args).then((out) => out.trim(), () => null)
  const head = (await run('symbolic-ref', '--short', 'HEAD')) ?? 'main'
  if (!requested) return head
  const empty = (await run('rev-parse', '--verify', '--quiet', 'HEAD')) === null
  if (!empty && (await run('rev-parse', '--verify', '--quiet', `refs/heads/${requested}`)) === null) {
    const why = `names a branch the repository does not have (its HEAD is ${head})`
    throw new AppError('invalid_body', `default_branch ${why}.`, { default_branch: [why] })
  }
  return requested
}
