import { Hono } from 'hono'
import { AppError, notFound } from '../../errors.ts'
import { newId } from '../../ids.ts'
import type { Sql } from '../../db/connect.ts'
import { findProjectFor, insertProject, listProjectsFor, upsertMember } from '../../db/projects.ts'
import { listSpecsForProject } from '../../db/specs.ts'
import { findUserByEmail } from '../../db/users.ts'
import { checkRepoUrl } from '../../sandbox/repo-url.ts'
import { AddMemberSchema, CreateProjectSchema } from '../../schemas/api.ts'
import { presentProject, presentSpec } from '../../schemas/present.ts'
import { readBody, requireUser, type Env } from '../middleware.ts'
import { doc } from '../openapi.ts'
import { MemberAnswer, ProjectAnswer, ProjectListAnswer, SpecListAnswer } from '../../schemas/responses.ts'

/** CONTRACT §4: projects and their members. */
export function projectRoutes(sql: Sql, repos: { roots: string[]; dataDir: string }) {
  return new Hono<Env>()
    .post('/', doc({ summary: 'Create a project', tag: 'projects', body: CreateProjectSchema, status: 201, answer: ProjectAnswer }), async (c) => {
      const { user } = requireUser(c)
      const body = await readBody(c, CreateProjectSchema)
      const project = await insertProject(sql, {
        id: newId('prj'),
        owner_id: user.id,
        name: body.name,
        repo_url: body.repo_url ? await checkRepoUrl(body.repo_url, repos) : null,
        default_branch: body.default_branch ?? 'main',
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
    .post('/:id/members', doc({ summary: 'Add a member (owner only)', tag: 'projects', body: AddMemberSchema, status: 201, answer: MemberAnswer }), async (c) => {
      const { user } = requireUser(c)
      const project = await findProjectFor(sql, c.req.param('id'), user.id)
      if (!project) throw notFound('Project')
      if (project.role !== 'owner') throw new AppError('forbidden', 'Only the project owner can add members.')
      const body = await readBody(c, AddMemberSchema)
      const member = await findUserByEmail(sql, body.email)
      if (!member) throw new AppError('not_found', `No user has the email ${body.email}: they must sign up first.`, { email: ['has no account'] })
      if (member.id === project.owner_id) throw new AppError('conflict', 'The owner is already part of the project.')
      const row = await upsertMember(sql, { project_id: project.id, user_id: member.id, role: body.role })
      return c.json({ project_id: row.project_id, user_id: row.user_id, email: member.email, name: member.name, role: row.role }, 201)
    })
    .get('/:id/specs', doc({ summary: "A project's specs", tag: 'projects', answer: SpecListAnswer }), async (c) => {
      const { user } = requireUser(c)
      const project = await findProjectFor(sql, c.req.param('id'), user.id)
      if (!project) throw notFound('Project')
      const access = project.role === 'viewer' ? 'viewer' : 'editor'
      const specs = await listSpecsForProject(sql, project.id)
      return c.json({ specs: specs.map((s) => presentSpec(s, s.user_id === user.id ? 'owner' : access)) })
    })
}
