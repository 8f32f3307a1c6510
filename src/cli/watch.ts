import { io } from 'socket.io-client'
import { CliError } from './client.ts'
import { eventLine, FINAL_STATUSES, progressLine, Timeline, type Paint, type SpecView, type TimelineEvent } from './timeline.ts'

export interface WatchOptions {
  server: string
  token: string | undefined
  specId: string
  json: boolean
  paint: Paint
  write: (line: string) => void
}

/**
 * Follows a spec live until it is completed, failed or cancelled; answers the final spec. Joins the spec's room with
 * the last seq seen (again after every reconnect), shows the join answer's events before any live one, each once.
 */
export function watchSpec(o: WatchOptions): Promise<SpecView> {
  const socket = io(o.server, { auth: { token: o.token }, transports: ['websocket'], reconnectionDelayMax: 2000 })
  const timeline = new Timeline()
  let joined = false
  let lastProgress = ''
  let warnedOffline = false

  return new Promise<SpecView>((resolve, reject) => {
    const finish = (fn: () => void) => {
      socket.removeAllListeners()
      socket.close()
      fn()
    }
    const show = (events: TimelineEvent[]) => {
      for (const event of events) {
        if (o.json) o.write(JSON.stringify(event))
        else {
          const line = eventLine(event, o.paint)
          if (line) o.write(line)
        }
      }
    }
    const state = (spec: SpecView) => {
      if (!joined) return // the join answer brings the spec as it stands
      if (!o.json) {
        const progress = progressLine(spec, o.paint)
        if (progress !== lastProgress) o.write(progress)
        lastProgress = progress
      }
      if (FINAL_STATUSES.includes(spec.status)) finish(() => resolve(spec))
    }

    socket.on('connect', async () => {
      joined = false
      timeline.joining()
      warnedOffline = false
      let answer
      try {
        answer = await socket.timeout(30_000).emitWithAck('spec:join', { spec_id: o.specId, after_seq: timeline.lastSeq })
      } catch {
        socket.disconnect().connect() // no answer: try a fresh connection
        return
      }
      if (!answer.ok) return finish(() => reject(new CliError(answer.error?.message ?? 'the server refused to show this spec')))
      show(timeline.joinAnswered(answer.events))
      joined = true
      state(answer.spec)
    })
    socket.on('spec:event', (event: TimelineEvent) => show(timeline.live(event)))
    socket.on('spec:state', (spec: SpecView) => state(spec))
    socket.on('disconnect', () => {
      joined = false
      timeline.joining()
    })
    socket.on('connect_error', (err) => {
      if (err.message === 'unauthenticated') return finish(() => reject(new CliError('the server does not know this token — run `omoi login` first')))
      if (!warnedOffline && !o.json) o.write(o.paint.yellow(`cannot reach ${o.server} (${err.message}); retrying…`))
      warnedOffline = true
    })
  })
}
