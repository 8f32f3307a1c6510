import { Hono } from 'hono'
import { AppError, notFound } from '../../errors.ts'
import type { Sql } from '../../db/connect.ts'
import { deleteInvitation, listInvitations, listMembers, removeMember, setMemberRole, upsertInvitation } from '../../db/members.ts'
import { findProjectFor, upsertMember } from '../../db/projects.ts'
import { findUserByEmail } from '../../db/users.ts'
import { AddMemberSchema, InvitationPathSchema, MemberRoleSchema } from '../../schemas/api.ts'
import { readBody, readParams, requireUser, type Env } from '../middleware.ts'
import { doc } from '../openapi.ts'
import { MemberAddedAnswer, MemberListAnswer, MemberRowAnswer } from '../../schemas/responses.ts'

/** Makes a removed member's open sockets leave the rooms of these specs at once (src/sockets/revoke.ts). */
export type RevokeAccess = (specIds: string[], userId: string) => Promise<void>

const iso = (d: Date) => d.toISOString()

/**
 * CONTRACT §4: a project's members. Anyone on the project may list them; only the owner changes them. Adding an
 * email without an account answers exactly as adding a known one, and records an invitation that becomes a
 * membership when that email signs up (sql/00007), unless the owner withdraws it first.
 */
export function memberRoutes(sql: Sql, revokeAccess: RevokeAccess) {
  const project = async (projectId: string, userId: string, change: boolean) => {
    const p = await findProjectFor(sql, projectId, userId)
    if (!p) throw notFound('Project')
    if (change && p.role !== 'owner') throw new AppError('forbidden', 'Only the project owner can change its members.')
    return p
  }
  return new Hono<Env>()
    .get('/:id/members', doc({ summary: "A project's members (and, for its owner, open invitations)", tag: 'projects', answer: MemberListAnswer }), async (c) => {
      const p = await project(c.req.param('id'), requireUser(c).user.id, false)
      const members = (await listMembers(sql, p.id)).map((m) => ({ ...m, created_at: iso(m.created_at) }))
      const invitations = p.role === 'owner' ? (await listInvitations(sql, p.id)).map((i) => ({ email: i.email, role: i.role, created_at: iso(i.created_at) })) : []
      return c.json({ members, invitations })
    })
    .post('/:id/members', doc({ summary: 'Add a member or invite an email (owner only)', tag: 'projects', body: AddMemberSchema, status: 201, answer: MemberAddedAnswer }), async (c) => {
      const { user } = requireUser(c)
      const p = await project(c.req.param('id'), user.id, true)
      const body = await readBody(c, AddMemberSchema)
      const member = await findUserByEmail(sql, body.email)
      if (member?.id === p.owner_id) throw new AppError('conflict', 'The owner is already part of the project.', { email: ['is the owner'] })
      if (member) await upsertMember(sql, { project_id: p.id, user_id: member.id, role: body.role })
      else await upsertInvitation(sql, { project_id: p.id, email: body.email, role: body.role, invited_by: user.id })
      return c.json({ project_id: p.id, email: body.email, role: body.role }, 201)
    })
    .patch('/:id/members/:user_id', doc({ summary: "Change a member's role (owner only)", tag: 'projects', body: MemberRoleSchema, answer: MemberRowAnswer }), async (c) => {
      const p = await project(c.req.param('id'), requireUser(c).user.id, true)
      const body = await readBody(c, MemberRoleSchema)
      const row = await setMemberRole(sql, p.id, c.req.param('user_id'), body.role)
      if (!row) throw notFound('Member')
      return c.json({ ...row, created_at: iso(row.created_at) })
    })
    .delete('/:id/members/:user_id', doc({ summary: 'Remove a member (owner only); their open rooms close at once', tag: 'projects', status: 204 }), async (c) => {
      const p = await project(c.req.param('id'), requireUser(c).user.id, true)
      const userId = c.req.param('user_id')
      const specIds = await removeMember(sql, p.id, userId)
      if (!specIds) throw notFound('Member')
      await revokeAccess(specIds, userId)
      return c.body(null, 204)
    })
    .delete('/:id/invitations/:email', doc({ summary: 'Withdraw an open invitation (owner only); that email then signs up without access', tag: 'projects', status: 204 }), async (c) => {
      const p = await project(c.req.param('id'), requireUser(c).user.id, true)
      const { email } = readParams(c, InvitationPathSchema)
      if (!(await deleteInvitation(sql, p.id, email))) {
        throw new AppError('not_found', `There is no open invitation for ${email} on this project (an accepted one is a member: remove them instead).`)
      }
      return c.body(null, 204)
    })
}
