import { Hono } from 'hono'
import type { SpecCommands } from '../../actors/commands.ts'
import { COMMANDS, LaunchSpecSchema } from '../../schemas/api.ts'
import { readBody, requireUser, type Env } from '../middleware.ts'
import * as v from 'valibot'

/** CONTRACT §4: launch, execute, and the steering commands (the same function serves `spec:command` on sockets). */
export function specCommandRoutes(commands: SpecCommands) {
  const app = new Hono<Env>()
    .post('/launch', async (c) => {
      const { user } = requireUser(c)
      return c.json(await commands.launch(user, await readBody(c, LaunchSpecSchema)), 201)
    })
    .post('/:id/execute', async (c) => {
      const { user } = requireUser(c)
      const { code, body } = await commands.execute(user, c.req.param('id'))
      return c.json(body, code as 200)
    })
  for (const command of COMMANDS) {
    const path = command === 'message' ? '/:id/messages' : `/:id/${command}`
    app.post(path, async (c) => {
      const { user } = requireUser(c)
      const body = await readBody(c, v.record(v.string(), v.unknown()))
      const { code, body: answer } = await commands.command(user, c.req.param('id')!, { ...body, command } as never)
      return c.json(answer, code as 200)
    })
  }
  return app
}
