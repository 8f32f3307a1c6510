import { mkdir, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { withMachineLock } from '../machine-lock.ts'
import { git } from './delivery-git.ts'

/**
 * The server's mirror of a project's repository under OMOI_DATA_DIR (`mirrors/<project>.git`): fetched after each push
 * omoi makes or takes, so diffs are answered from the server alike for local and Daytona sandboxes.
 */

const syncing = new Map<string, Promise<void>>()

export const mirrorPath = (dataDir: string, projectId: string) => join(resolve(dataDir), 'mirrors', `${projectId}.git`)

/**
 * Git in the mirror, a bare repository, named with `--git-dir`, not found from the working directory: a user's
 * `safe.bareRepository=explicit` (a hardening setting) refuses a bare repository git finds by itself, and failed every
 * spec at its spec branch ("cannot use bare repository … (safe.bareRepository is 'explicit')").
 */
export const mirrorGit = (mirror: string, args: string[], opts: { token?: string } = {}) => git(mirror, [`--git-dir=${mirror}`, ...args], opts)

/** Clones the mirror once, then fetches every ref; calls for one mirror run one after the other, in this process */
export function syncMirror(dataDir: string, projectId: string, url: string, token?: string): Promise<void> {
  const path = mirrorPath(dataDir, projectId)
  const previous = syncing.get(path) ?? Promise.resolve()
  // and across the processes sharing the data directory (a cluster's nodes on one machine): two fetches into one
  // repository fail on each other's ref locks, and a clone would remove the other's half-made one
  const next = previous.catch(() => {}).then(() =>
    withMachineLock(`mirror:${path}`, async () => {
      if (!(await stat(join(path, 'HEAD')).then(() => true, () => false))) {
        await rm(path, { recursive: true, force: true })
        await mkdir(join(path, '..'), { recursive: true })
        await git(join(path, '..'), ['clone', '-q', '--mirror', '--', url, path], { token })
      } else {
        await mirrorGit(path, ['fetch', '-q', '--prune', 'origin'], { token })
      }
    }),
  )
  syncing.set(path, next)
  void next.finally(() => syncing.get(path) === next && syncing.delete(path)).catch(() => {})
  return next
}

export interface DiffFile {
  path: string
  status: 'added' | 'modified' | 'deleted' | 'renamed' | 'copied' | 'changed'
  additions: number
  deletions: number
}

export interface DiffSummary {
  files: DiffFile[]
  insertions: number
  deletions: number
}

const STATUS: Record<string, DiffFile['status']> = { A: 'added', M: 'modified', D: 'deleted', R: 'renamed', C: 'copied', T: 'changed' }

/**
 * The diffs the API answers are read with `git diff-tree`, git's plumbing, not `git diff`: the porcelain obeys the
 * server user's ~/.gitconfig on what it prints (`diff.external` ran the user's diff program and failed every patch
 * with "external diff died"; `diff.noprefix` dropped the `a/` `b/` a patch is applied by; `diff.context`,
 * `diff.algorithm`, `diff.orderFile`, `color.diff` …), the plumbing prints the same on every host. Paths in a patch's
 * headers are quoted as git does by default (`core.quotePath`), whatever the user set.
 */
const diffTree = (mirror: string, from: string, to: string, options: string[], path?: string) =>
  mirrorGit(mirror, ['-c', 'core.quotePath=true', 'diff-tree', '-r', '--no-renames', '--no-color', ...options, from, to, ...(path ? ['--', path] : [])])

/** Files changed between two commits of the mirror (optionally one path), with lines added and removed (0 for binary). */
export async function diffSummary(mirror: string, from: string, to: string, path?: string): Promise<DiffSummary> {
  const [numstat, names] = await Promise.all([
    diffTree(mirror, from, to, ['--numstat', '-z'], path),
    diffTree(mirror, from, to, ['--name-status', '-z'], path),
  ])
  const status = new Map<string, DiffFile['status']>()
  const parts = names.split('\0').filter(Boolean)
  for (let i = 0; i + 1 < parts.length; i += 2) status.set(parts[i + 1]!, STATUS[parts[i]![0]!] ?? 'changed')
  const files = numstat
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const [add, del, ...rest] = line.split('\t')
      const file = rest.join('\t')
      return { path: file, status: status.get(file) ?? 'modified', additions: Number(add) || 0, deletions: Number(del) || 0 }
    })
  return {
    files,
    insertions: files.reduce((n, f) => n + f.additions, 0),
    deletions: files.reduce((n, f) => n + f.deletions, 0),
  }
}

/** The unified diff between two commits of the mirror (optionally one path). */
export function diffPatch(mirror: string, from: string, to: string, path?: string): Promise<string> {
  return diffTree(mirror, from, to, ['-p'], path).then((p) => (p ? `${p}\n` : ''))
}
