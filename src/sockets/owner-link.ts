import type { OwnerLink, RoutedAnswer, RoutedCall, SpecRouter } from '../actors/router.ts'
import { logger } from '../log.ts'
import type { SpecServer } from './types.ts'

const log = logger('omoi:cluster')

/**
 * Requests for a spec another node owns travel as the PostgreSQL adapter's server-side emit with acknowledgements
 * (DESIGN §4): every node hears the call, only the addressee serves it, the others answer null. The adapter answers
 * once every live node did, or after its 5 s timeout with the answers that came (a dead node is dropped from its node
 * list after the heartbeat timeout).
 */
export function linkOwners(io: SpecServer, router: SpecRouter, nodeId: string): OwnerLink {
  io.on('route:call', (to, call, ack) => {
    if (to !== nodeId) return ack(null)
    router.receive(call).then(ack, (err: unknown) => {
      log.error('a forwarded call failed', { spec_id: call.specId, kind: call.kind, err })
      ack({ ok: false, error: { code: 'internal', message: 'The server that runs this spec failed to answer; it has been logged.' } })
    })
  })
  const link: OwnerLink = {
    call: (node: string, call: RoutedCall) =>
      new Promise<RoutedAnswer | null>((resolve) => {
        io.serverSideEmit('route:call', node, call, (_err: Error | null, answers: (RoutedAnswer | null)[]) => {
          resolve(answers?.find((a) => a !== null) ?? null)
        })
      }),
  }
  router.connect(link)
  return link
}
