import { Hono } from 'hono'
import type { SpecCommands } from '../../actors/commands.ts'
import type { Sql } from '../../db/connect.ts'
import { findTicketFor, tasksOfTicket } from '../../db/tickets.ts'
import { CreateTicketSchema } from '../../schemas/api.ts'
import { presentTask, presentTicket } from '../../schemas/present.ts'
import { readBody, requireUser, type Env } from '../middleware.ts'
import { doc } from '../openapi.ts'
import { QuickTicketAnswer } from '../../schemas/responses.ts'

/** POST /tickets — quick mode: one ticket with one task, run at once without planning phases. */
export function quickTicketRoutes(sql: Sql, commands: SpecCommands) {
  return new Hono<Env>().post('/', doc({ summary: 'Quick mode: one ticket with one task, run at once', tag: 'board', body: CreateTicketSchema, status: 201, answer: QuickTicketAnswer }), async (c) => {
    const { user } = requireUser(c)
    const { ticket_id, spec_id } = await commands.quickTicket(user, await readBody(c, CreateTicketSchema))
    const ticket = (await findTicketFor(sql, ticket_id, user.id))!
    return c.json({ ...presentTicket(ticket), spec_id, tasks: (await tasksOfTicket(sql, ticket_id)).map(presentTask) }, 201)
  })
}
