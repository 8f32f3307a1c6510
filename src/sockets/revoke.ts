import { logger } from '../log.ts'
import { deltasRoom, liveBatchRoom, liveRoom, specRoom } from './rooms.ts'
import type { SpecNamespace } from './types.ts'

const log = logger('omoi:sockets')

/** Sent to a socket that was made to leave a spec's room because its user lost access (not in ServerToClientEvents). */
export const ACCESS_REVOKED = 'spec:access_revoked'

/**
 * Makes every socket of `userId` leave the rooms of `specIds` at once (on every node: `fetchSockets` and a remote
 * socket's `leave` go through the adapter) and tells it `spec:access_revoked {spec_id}`, so a removed member's open
 * room stops receiving the spec's events and presence. `left` is told of each spec whose viewers changed (presence).
 * A later `spec:join` is authorized again and refused.
 */
export async function leaveSpecRooms(
  nsp: SpecNamespace,
  specIds: readonly string[],
  userId: string,
  left: (specId: string) => void = () => {},
): Promise<void> {
  for (const specId of specIds) {
    const sockets = await nsp.in(specRoom(specId)).fetchSockets()
    for (const socket of sockets) {
      if (socket.data.user?.id !== userId) continue
      for (const room of [specRoom(specId), liveRoom(specId), liveBatchRoom(specId), deltasRoom(specId)]) socket.leave(room)
      ;(socket as unknown as { emit(event: string, payload: unknown): void }).emit(ACCESS_REVOKED, { spec_id: specId })
      log.info('access revoked: socket left the spec room', { spec_id: specId, user_id: userId })
    }
    if (sockets.some((s) => s.data.user?.id === userId)) left(specId)
  }
}
