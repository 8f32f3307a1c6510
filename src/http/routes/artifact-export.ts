import { Hono } from 'hono'
import { AppError, notFound } from '../../errors.ts'
import type { Sql } from '../../db/connect.ts'
import { loadArtifacts } from '../../db/artifacts.ts'
import { completedTaskKeys, findSpecFor } from '../../db/specs.ts'
import { designMarkdown, MARKDOWN_ARTIFACTS, requirementsMarkdown, tasksMarkdown, type MarkdownArtifact } from '../../schemas/artifact-markdown.ts'
import type { Design, Requirements, Tasks } from '../../schemas/phase-outputs.ts'
import { requireUser, type Env } from '../middleware.ts'
import { doc } from '../openapi.ts'

/**
 * CONTRACT §4: GET /specs/:id/artifacts/:name.md — requirements, design or tasks as a Kiro-style markdown file
 * (`text/markdown`, offered as a download named after the document). Same access as the spec.
 */
export function artifactExportRoutes(sql: Sql) {
  return new Hono<Env>().get(
    '/:id/artifacts/:file{[a-z]+\\.md}',
    doc({ summary: 'requirements.md, design.md or tasks.md: an accepted document as markdown', tag: 'specs', media: 'text/markdown' }),
    async (c) => {
    const spec = await findSpecFor(sql, c.req.param('id'), requireUser(c).user.id)
    if (!spec) throw notFound('Spec')
    const name = c.req.param('file').slice(0, -'.md'.length)
    if (!(MARKDOWN_ARTIFACTS as readonly string[]).includes(name)) {
      throw new AppError('not_found', `There is no document "${name}.md": ask for requirements.md, design.md or tasks.md.`)
    }
    const artifacts = await loadArtifacts(sql, spec.id)
    const output = artifacts[name as MarkdownArtifact]
    if (!output) throw new AppError('not_found', `This spec has no ${name} yet: it is written once that phase is accepted.`)
    let text: string
    if (name === 'requirements') text = requirementsMarkdown(spec, output as Requirements)
    else if (name === 'design') text = designMarkdown(spec, output as Design)
    else {
      text = tasksMarkdown(spec, output as Tasks, new Set(await completedTaskKeys(sql, spec.id)))
    }
    c.header('content-disposition', `attachment; filename="${name}.md"`)
    return c.body(text, 200, { 'content-type': 'text/markdown; charset=utf-8' })
  })
}
