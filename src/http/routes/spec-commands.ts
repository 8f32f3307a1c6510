import { Hono } from 'hono'
import type { SpecCommands } from '../../actors/commands.ts'
import { COMMAND_BODIES, COMMANDS, LaunchSpecSchema } from '../../schemas/api.ts'
import { readBody, readIdempotencyKey, requireUser, type Env } from '../middleware.ts'
import * as v from 'valibot'
import { doc } from '../openapi.ts'
import { CommandAnswer, ExecuteAnswer, LaunchAnswer, MessageAnswer } from '../../schemas/responses.ts'

/** CONTRACT §4: launch, execute, and the steering commands (the same function serves `spec:command` on sockets). */
export function specCommandRoutes(commands: SpecCommands) {
  const app = new Hono<Env>()
    .post('/launch', doc({ summary: 'Create a spec and start it', tag: 'specs', body: LaunchSpecSchema, status: 201, answer: LaunchAnswer }), async (c) => {
      const { user } = requireUser(c)
      return c.json(await commands.launch(user, await readBody(c, LaunchSpecSchema)), 201)
    })
    .post('/:id/execute', doc({ summary: 'Start a draft spec', tag: 'specs', status: 202, answer: ExecuteAnswer, also: { 200: { summary: 'already_running', answer: ExecuteAnswer } } }), async (c) => {
      const { user } = requireUser(c)
      const { code, body } = await commands.execute(user, c.req.param('id'))
      return c.json(body, code as 200)
    })
  for (const command of COMMANDS) {
    const path = command === 'message' ? '/:id/messages' : `/:id/${command}`
    const answers = command === 'message' ? { status: 201, answer: MessageAnswer } : { answer: CommandAnswer }
    app.post(path, doc({ summary: `${command} a spec`, tag: 'specs', body: COMMAND_BODIES[command], ...answers, idempotent: true }), async (c) => {
      const { user } = requireUser(c)
      const key = readIdempotencyKey(c)
      const body = await readBody(c, v.record(v.string(), v.unknown()))
      const { code, body: answer, replayed } = await commands.command(user, c.req.param('id')!, { ...body, command } as never, key)
      if (replayed) c.header('Idempotent-Replayed', 'true')
      return c.json(answer, code as 200)
    })
  }
  return app
}
