import { Hono } from 'hono'
import { AppError, notFound } from '../../errors.ts'
import type { Sql } from '../../db/connect.ts'
import { findSpecFor } from '../../db/specs.ts'
import { findTaskOfSpec } from '../../db/tickets.ts'
import { GitError } from '../../actors/delivery-git.ts'
import { diffPatch, diffSummary, mirrorGit, mirrorPath } from '../../actors/repo-mirror.ts'
import { DiffQuerySchema } from '../../schemas/api.ts'
import { DiffAnswer } from '../../schemas/responses.ts'
import { readQuery, requireUser, type Env } from '../middleware.ts'
import { doc } from '../openapi.ts'

/**
 * What a failed diff answers. The mirror is fetched after each push: until the fetch lands, the commits are not there
 * yet, and that (only that) is 503 `unavailable`, worth a retry. The caller's input was checked by DiffQuerySchema, so
 * any other git failure is ours: rethrown, a logged 500 — never a 503 that a client would retry forever.
 */
async function gitFailure(err: unknown, mirror: string, range: { from: string; to: string }): Promise<never> {
  if (!(err instanceof GitError)) throw err
  const present = await mirrorGit(mirror, ['cat-file', '-e', `${range.from}^{commit}`])
    .then(() => mirrorGit(mirror, ['cat-file', '-e', `${range.to}^{commit}`]))
    .then(() => true, () => false)
  if (!present) throw new AppError('unavailable', 'The changes are being fetched from the repository; retry shortly.', undefined, 2)
  throw err
}

/**
 * CONTRACT §4 `GET /specs/:id/diff`: the spec branch against its base, or (`task`) one task's own commits, from the
 * server's mirror of the repository. JSON `{files, insertions, deletions}`, or `format=patch` as text/x-diff.
 */
export function specDiffRoutes(sql: Sql, dataDir: string) {
  return new Hono<Env>().get(
    '/:id/diff',
    doc({ summary: 'What the spec (or one task) changed: files with counts, or the unified diff with format=patch', tag: 'specs', query: DiffQuerySchema, answer: DiffAnswer }),
    async (c) => {
    const { user } = requireUser(c)
    const spec = await findSpecFor(sql, c.req.param('id'), user.id)
    if (!spec) throw notFound('Spec')
    const q = readQuery(c, DiffQuerySchema)
    const d = spec.delivery
    if (!d || !spec.project_id) throw new AppError('not_found', 'This spec has no branch yet: its changes exist once execution has started.')
    let range = { from: d.base_commit, to: d.commit }
    if (q.task) {
      const task = await findTaskOfSpec(sql, spec.id, q.task)
      if (!task) throw new AppError('not_found', `Task ${q.task} is not part of this spec.`)
      const result = task.result as { base_commit?: unknown; commit?: unknown } | null
      if (typeof result?.base_commit !== 'string' || typeof result.commit !== 'string') {
        throw new AppError('not_found', `Task ${q.task} has no accepted work yet.`)
      }
      range = { from: result.base_commit, to: result.commit }
    }
    const mirror = mirrorPath(dataDir, spec.project_id)
    const failed = (err: unknown) => gitFailure(err, mirror, range)
    if (q.format === 'patch') {
      const patch = await diffPatch(mirror, range.from, range.to, q.path).catch(failed)
      return c.body(patch, 200, { 'content-type': 'text/x-diff; charset=utf-8' })
    }
    return c.json(await diffSummary(mirror, range.from, range.to, q.path).catch(failed))
  })
}
