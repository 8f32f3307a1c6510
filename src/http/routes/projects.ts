import { Hono } from 'hono'
import { AppError, notFound } from '../../errors.ts'
import { newId } from '../../ids.ts'
import type { Sql } from '../../db/connect.ts'
import { findProjectFor, insertProject, listProjectsFor, updateProject } from '../../db/projects.ts'
import { listSpecsForProject } from '../../db/specs.ts'
import { checkRepoUrl, localDefaultBranch } from '../../sandbox/repo-url.ts'
import { CreateProjectSchema, ProjectSpecsQuerySchema, UpdateProjectSchema } from '../../schemas/api.ts'
import { presentProject, presentSpec } from '../../schemas/present.ts'
import { readBody, readQuery, requireUser, type Env } from '../middleware.ts'
import { doc } from '../openapi.ts'
import { ProjectAnswer, ProjectListAnswer, SpecListAnswer } from '../../schemas/responses.ts'

/** CONTRACT §4: projects (their members: routes/members.ts). */
export function projectRoutes(sql: Sql, repos: { roots: string[]; dataDir: string }) {
  return new Hono<Env>()
    .post('/', doc({ summary: 'Create a project', tag: 'projects', body: CreateProjectSchema, status: 201, answer: ProjectAnswer }), async (c) => {
      const { user } = requireUser(c)
      const body = await readBody(c, CreateProjectSchema)
      const repoUrl = body.repo_url ? await checkRepoUrl(body.repo_url, repos) : null
      // a local repository is asked which branch it has; a remote one is taken at its word
      const branch = repoUrl?.startsWith('/') ? await localDefaultBranch(repoUrl, body.default_branch) : (body.default_branch ?? 'main')
      const project = await insertProject(sql, {
        id: newId('prj'),
        owner_id: user.id,
        name: body.name,
        repo_url: repoUrl,
        default_branch: branch,
        check_command: body.check_command ?? null,
      })
      return c.json(presentProject({ ...project, role: 'owner' }), 201)
    })
    .get('/', doc({ summary: 'Your projects', tag: 'projects', answer: ProjectListAnswer }), async (c) => {
      const { user } = requireUser(c)
      return c.json({ projects: (await listProjectsFor(sql, user.id)).map(presentProject) })
    })
    .get('/:id', doc({ summary: 'A project', tag: 'projects', answer: ProjectAnswer }), async (c) => {
      const { user } = requireUser(c)
      const project = await findProjectFor(sql, c.req.param('id'), user.id)
      if (!project) throw notFound('Project')
      return c.json(presentProject(project))
    })
    .patch('/:id', doc({ summary: 'Change a project (owner only): name, default branch, check command', tag: 'projects', body: UpdateProjectSchema, answer: ProjectAnswer }), async (c) => {
      const { user } = requireUser(c)
      const project = await findProjectFor(sql, c.req.param('id'), user.id)
      if (!project) throw notFound('Project')
      if (project.role !== 'owner') throw new AppError('forbidden', 'Only the project owner can change the project.')
      const body = await readBody(c, UpdateProjectSchema)
      const row = await updateProject(sql, project.id, body)
      return c.json(presentProject({ ...row, role: 'owner' }))
    })
    .get('/:id/specs', doc({ summary: "A project's specs (status filter, title search, pages)", tag: 'projects', query: ProjectSpecsQuerySchema, answer: SpecListAnswer }), async (c) => {
      const { user } = requireUser(c)
      const project = await findProjectFor(sql, c.req.param('id'), user.id)
      if (!project) throw notFound('Project')
      const access = project.role === 'viewer' ? 'viewer' : 'editor'
      const q = readQuery(c, ProjectSpecsQuerySchema)
      const { specs, total } = await listSpecsForProject(sql, project.id, { status: q.status, q: q.q, limit: Number(q.limit), offset: Number(q.offset) })
      return c.json({ specs: specs.map((s) => presentSpec(s, s.user_id === user.id ? 'owner' : access)), total })
    })
}
