/**
 * Room names of namespace `/`. `spec:<id>` holds every viewer of a spec (presence counts it; CONTRACT §6);
 * `spec:<id>:live` holds, per node, the viewers that have caught up with the spec's live events (src/sockets/feed.ts),
 * `spec:<id>:live:batch` those of them that joined with `batch: true`, and `spec:<id>:deltas` every viewer that joined
 * with `batch: true` (presence deltas, src/sockets/presence.ts).
 */

export const specRoom = (specId: string) => `spec:${specId}`
export const liveRoom = (specId: string) => `spec:${specId}:live`
export const liveBatchRoom = (specId: string) => `spec:${specId}:live:batch`
export const deltasRoom = (specId: string) => `spec:${specId}:deltas`

/** The spec a viewers' room is of; null for any other room (a socket's own, a live room). */
export const specOfRoom = (room: string): string | null => (/^spec:[^:]+$/.test(room) ? room.slice(5) : null)
