import { Hono } from 'hono'
import { AppError, notFound } from '../../errors.ts'
import { newId } from '../../ids.ts'
import type { Sql } from '../../db/connect.ts'
import { findProjectFor, insertProject, listProjectsFor, updateProject, upsertMember } from '../../db/projects.ts'
import { listSpecsForProject } from '../../db/specs.ts'
import { findUserByEmail } from '../../db/users.ts'
import { AddMemberSchema, CreateProjectSchema, UpdateProjectSchema } from '../../schemas/api.ts'
import { presentProject, presentSpec } from '../../schemas/present.ts'
import { readBody, requireUser, type Env } from '../middleware.ts'

/** CONTRACT §4: projects and their members. */
export function projectRoutes(sql: Sql) {
  return new Hono<Env>()
    .post('/', async (c) => {
      const { user } = requireUser(c)
      const body = await readBody(c, CreateProjectSchema)
      const project = await insertProject(sql, {
        id: newId('prj'),
        owner_id: user.id,
        name: body.name,
        repo_url: body.repo_url ?? null,
        default_branch: body.default_branch ?? 'main',
        check_command: body.check_command ?? null,
      })
      return c.json(presentProject({ ...project, role: 'owner' }), 201)
    })
    .get('/', async (c) => {
      const { user } = requireUser(c)
      return c.json({ projects: (await listProjectsFor(sql, user.id)).map(presentProject) })
    })
    .get('/:id', async (c) => {
      const { user } = requireUser(c)
      const project = await findProjectFor(sql, c.req.param('id'), user.id)
      if (!project) throw notFound('Project')
      return c.json(presentProject(project))
    })
    .patch('/:id', async (c) => {
      const { user } = requireUser(c)
      const project = await findProjectFor(sql, c.req.param('id'), user.id)
      if (!project) throw notFound('Project')
      if (project.role !== 'owner') throw new AppError('forbidden', 'Only the project owner can change the project.')
      const body = await readBody(c, UpdateProjectSchema)
      const row = await updateProject(sql, project.id, body)
      return c.json(presentProject({ ...row, role: 'owner' }))
    })
    .post('/:id/members', async (c) => {
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
    .get('/:id/specs', async (c) => {
      const { user } = requireUser(c)
      const project = await findProjectFor(sql, c.req.param('id'), user.id)
      if (!project) throw notFound('Project')
      const access = project.role === 'viewer' ? 'viewer' : 'editor'
      const specs = await listSpecsForProject(sql, project.id)
      return c.json({ specs: specs.map((s) => presentSpec(s, s.user_id === user.id ? 'owner' : access)) })
    })
}
