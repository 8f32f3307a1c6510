/** The admin console's live state: the `/admin` namespace's actor list, transitions as they happen, one inspected actor. */
import { signal } from '@preact/signals'
import { emitAck, onConnect, openAdminSocket, type AppSocket, type Connection } from '../socket.ts'
import type { ActorRow, ActorTransition, SocketError } from '../types.ts'

const MAX_TRANSITIONS = 200

function unwrap<T>(ack: Record<string, unknown>, key: string): T | undefined {
  if (key in ack) return ack[key] as T
  return ack.data as T | undefined
}

export function createAdminState() {
  const connection = signal<Connection>({ state: 'idle' })
  const actors = signal<ActorRow[]>([])
  const listError = signal<SocketError | null>(null)
  const transitions = signal<ActorTransition[]>([])
  const selected = signal<string | null>(null)
  const snapshot = signal<unknown>(null)
  const inspectError = signal<SocketError | null>(null)
  const inspecting = signal(false)
  let socket: AppSocket | null = null

  async function list(): Promise<void> {
    if (!socket) return
    const ack = await emitAck<Record<string, unknown>>(socket, 'actors:list')
    if (!ack.ok) {
      listError.value = ack.error
      return
    }
    listError.value = null
    const rows = unwrap<ActorRow[]>(ack, 'actors')
    actors.value = Array.isArray(rows) ? rows : []
  }

  async function inspect(specId: string): Promise<void> {
    if (!socket) return
    selected.value = specId
    inspecting.value = true
    const ack = await emitAck<Record<string, unknown>>(socket, 'actor:inspect', { spec_id: specId })
    if (selected.value !== specId) return // another actor was picked meanwhile
    inspecting.value = false
    if (!ack.ok) {
      inspectError.value = ack.error
      snapshot.value = null
      return
    }
    inspectError.value = null
    const { ok: _ok, ...rest } = ack
    snapshot.value = 'data' in rest && Object.keys(rest).length === 1 ? rest.data : rest
  }

  // A transition changes more than the state (status, sandbox, a finished actor leaving the host): show the new state at
  // once, then read the rows again, coalesced, so status, sandbox and finished actors never lag behind until Refresh.
  let relist: ReturnType<typeof setTimeout> | undefined
  const onTransition = (t: ActorTransition) => {
    transitions.value = [t, ...transitions.value].slice(0, MAX_TRANSITIONS)
    const rows = actors.value
    const i = rows.findIndex((a) => a.spec_id === t.spec_id)
    if (i !== -1) {
      const next = rows.slice()
      next[i] = { ...rows[i]!, state: t.to, last_transition_at: t.at }
      actors.value = next
    }
    clearTimeout(relist)
    relist = setTimeout(() => void list(), 250)
  }

  return {
    connection,
    actors,
    listError,
    transitions,
    selected,
    snapshot,
    inspectError,
    inspecting,
    refresh: list,
    inspect,
    start(): () => void {
      socket = openAdminSocket((c) => (connection.value = c))
      socket.on('actor:transition', onTransition)
      const s = socket
      const stop = onConnect(s, () => {
        void list()
        void emitAck(s, 'actors:watch').then((ack) => {
          if (!ack.ok && ack.error.code !== 'timeout') listError.value = ack.error
        })
        if (selected.value) void inspect(selected.value)
      })
      return () => {
        clearTimeout(relist)
        stop()
        s.removeAllListeners()
        s.disconnect()
        socket = null
      }
    },
  }
}

export type AdminState = ReturnType<typeof createAdminState>
