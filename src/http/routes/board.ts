import { Hono } from 'hono'
import { notFound } from '../../errors.ts'
import type { Sql } from '../../db/connect.ts'
import { boardTickets, findTicketFor, TICKET_STATUSES, tasksOfTicket } from '../../db/tickets.ts'
import { BoardQuerySchema } from '../../schemas/api.ts'
import { presentTask, presentTicket } from '../../schemas/present.ts'
import { readQuery, requireUser, type Env } from '../middleware.ts'
import { doc } from '../openapi.ts'
import { BoardAnswer, TicketWithTasksAnswer } from '../../schemas/responses.ts'

/** CONTRACT §4: the board (the caller's tickets by status) and one ticket with its tasks. */
export function boardRoutes(sql: Sql) {
  return new Hono<Env>().get('/board', doc({ summary: 'The board: your tickets by status', tag: 'board', query: BoardQuerySchema, answer: BoardAnswer }), async (c) => {
    const { user } = requireUser(c)
    const { project_id } = readQuery(c, BoardQuerySchema)
    const tickets = await boardTickets(sql, user.id, project_id)
    return c.json({
      columns: TICKET_STATUSES.map((status) => ({
        status,
        tickets: tickets.filter((t) => t.status === status).map(presentTicket),
      })),
    })
  })
}

export function ticketReadRoutes(sql: Sql) {
  return new Hono<Env>().get('/:id', doc({ summary: 'A ticket with its tasks', tag: 'board', answer: TicketWithTasksAnswer }), async (c) => {
    const { user } = requireUser(c)
    const ticket = await findTicketFor(sql, c.req.param('id'), user.id)
    if (!ticket) throw notFound('Ticket')
    const tasks = await tasksOfTicket(sql, ticket.id)
    return c.json({ ...presentTicket(ticket), tasks: tasks.map(presentTask) })
  })
}
