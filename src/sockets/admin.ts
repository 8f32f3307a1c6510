import type { ActorSummary, SpecHostView } from '../actors/host-api.ts'
import type { AuthService } from '../auth/service.ts'
import { notFound } from '../errors.ts'
import { logger } from '../log.ts'
import { ActorInspectSchema } from '../schemas/api.ts'
import { parseInput } from '../schemas/parse.ts'
import { request } from './ack.ts'
import { authenticate } from './handshake.ts'
import type { ActorTransition, AdminClientToServerEvents, AdminNamespace, AdminSocket } from './types.ts'

const log = logger('omoi:sockets')

const WATCHERS = 'actors:watchers'

export interface AdminDeps {
  auth: AuthService
  host: SpecHostView
  allowedOrigins: string[]
  /** Several nodes share the database: the actor list gathers every node's actors. */
  clustered: boolean
}

type Events = AdminClientToServerEvents

/**
 * Namespace `/admin` (CONTRACT §6), admins only: the live actors, one actor's live and persisted snapshots, and every
 * actor transition for the sockets that asked to watch. Returns how a transition reaches the watchers (on every node).
 */
export function registerAdmin(nsp: AdminNamespace, deps: AdminDeps): (transition: ActorTransition) => void {
  const { host } = deps
  nsp.use(authenticate(deps.auth, { allowedOrigins: deps.allowedOrigins, role: 'admin' }))

  async function listActors(): Promise<ActorSummary[]> {
    if (!deps.clustered) return host.listActors()
    // the adapter waits up to 5 s for every node it knows; a timeout still carries the answers that came
    const others = await nsp.serverSideEmitWithAck('relay:actors').catch((err: { responses?: ActorSummary[][] }) => {
      log.warn('some nodes did not list their actors', { err })
      return err.responses ?? []
    })
    return [...host.listActors(), ...others.flat()]
  }
  if (deps.clustered) nsp.on('relay:actors', (ack) => ack(host.listActors()))

  nsp.on('connection', (socket: AdminSocket) => {
    socket.on(
      'actors:list',
      request<Events['actors:list']>('actors:list', async (_payload, reply) => reply(await listActors())),
    )
    socket.on(
      'actor:inspect',
      request<Events['actor:inspect']>('actor:inspect', async (payload, reply) => {
        const { spec_id: specId } = parseInput(ActorInspectSchema, payload, 'payload')
        const inspection = await host.inspect(specId)
        if (!inspection) throw notFound('Actor')
        reply(inspection)
      }),
    )
    socket.on(
      'actors:watch',
      request<Events['actors:watch']>('actors:watch', async (_payload, reply) => {
        await socket.join(WATCHERS)
        reply({ ok: true })
      }),
    )
  })

  return (transition) => nsp.to(WATCHERS).emit('actor:transition', transition)
}
