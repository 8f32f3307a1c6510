/**
 * Keeps the board fresh: joins the rooms of the specs whose tickets are shown and calls `refresh` (debounced) when
 * one of them reports task progress; polls slowly as well, for tickets without a spec (quick tasks) and while offline.
 */
import { emitAck, getSocket, onConnect } from '../socket.ts'
import type { SpecEvent } from '../types.ts'

const RELEVANT = /^spec\.(task_|tasks_queued|execution_|cancelled|retried)/
const POLL_MS = 15_000
/** Joining for updates only: an after_seq past any real seq asks the server for no replay. */
const NO_REPLAY = Number.MAX_SAFE_INTEGER

export interface BoardLive {
  /** Joins rooms for `specIds` not yet joined and leaves the rest. */
  watch(specIds: readonly string[]): void
  stop(): void
}

export function startBoardLive(refresh: () => void): BoardLive {
  const socket = getSocket()
  let rooms = new Set<string>()
  let timer: ReturnType<typeof setTimeout> | undefined
  const soon = () => {
    clearTimeout(timer)
    timer = setTimeout(refresh, 300)
  }
  const onEvent = (e: SpecEvent) => {
    if (rooms.has(e.spec_id) && RELEVANT.test(e.type)) soon()
  }
  const onEvents = (batch: SpecEvent[]) => (Array.isArray(batch) ? batch : []).forEach(onEvent)
  const join = (id: string) => void emitAck(socket, 'spec:join', { spec_id: id, after_seq: NO_REPLAY, presence: false, batch: true })
  const leave = (id: string) => socket.connected && socket.emit('spec:leave', { spec_id: id }, () => {})

  socket.on('spec:event', onEvent)
  socket.on('spec:events', onEvents)
  let first = true
  const stopConnect = onConnect(socket, () => {
    for (const id of rooms) join(id)
    if (!first) refresh() // we may have missed updates while disconnected
    first = false
  })
  const poll = setInterval(refresh, POLL_MS)

  return {
    watch(specIds) {
      const next = new Set(specIds)
      for (const id of rooms) if (!next.has(id)) leave(id)
      if (socket.connected) for (const id of next) if (!rooms.has(id)) join(id)
      rooms = next
    },
    stop() {
      clearTimeout(timer)
      clearInterval(poll)
      stopConnect()
      socket.off('spec:event', onEvent)
      socket.off('spec:events', onEvents)
      for (const id of rooms) leave(id)
      rooms = new Set()
    },
  }
}
