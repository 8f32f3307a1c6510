import { eventTone, formatTime, preview, summarizeEvent } from '../lib/format.ts'
import type { SpecEvent } from '../types.ts'
import { JsonView } from './json-view.tsx'

/** One event: time, type and what it means; open it for the raw data. */
export function EventRow(props: { event: SpecEvent }) {
  const e = props.event
  return (
    <li class={`event event--${eventTone(e)}`} data-testid="event-row" data-seq={e.seq} data-type={e.type} data-source={e.source}>
      <details>
        <summary>
          <time class="event__time" dateTime={e.created_at}>
            {formatTime(e.created_at)}
          </time>
          <span class="event__type">{e.type}</span>
          <span class="event__text">{summarizeEvent(e)}</span>
        </summary>
        <div class="event__detail">
          <p class="muted">
            #{e.seq} · {e.source}
            {e.sandbox_id ? ` · sandbox ${e.sandbox_id}` : ''}
          </p>
          <JsonView value={e.data} label={`Data of event ${e.seq}`} />
        </div>
      </details>
    </li>
  )
}

/** A run of consecutive tool calls and results, folded into one row that names the tools used. */
export function ToolGroupRow(props: { events: SpecEvent[] }) {
  const { events } = props
  const uses = events.filter((e) => e.type === 'agent.tool_use')
  const failed = events.filter((e) => e.type === 'agent.tool_result' && e.data?.ok === false).length
  const counts = new Map<string, number>()
  for (const e of uses) {
    const tool = typeof e.data?.tool === 'string' ? e.data.tool : 'tool'
    counts.set(tool, (counts.get(tool) ?? 0) + 1)
  }
  const tools = [...counts].map(([t, n]) => (n > 1 ? `${t} ×${n}` : t)).join(', ')
  const last = events[events.length - 1]!
  const first = events[0]!
  return (
    <li
      class={`event event-group${failed ? ' event--error' : ' event--info'}`}
      data-testid="event-group"
      data-count={events.length}
      data-first-seq={first.seq}
      data-last-seq={last.seq}
    >
      <details>
        <summary>
          <time class="event__time" dateTime={last.created_at}>
            {formatTime(last.created_at)}
          </time>
          <span class="event__type">
            {uses.length} tool call{uses.length === 1 ? '' : 's'}
          </span>
          <span class="event__text">
            {tools || preview(summarizeEvent(last))}
            {failed ? ` · ${failed} failed` : ''}
          </span>
        </summary>
        <ol class="event-group__list" reversed>
          {events
            .slice()
            .reverse()
            .map((e) => (
              <EventRow key={e.seq} event={e} />
            ))}
        </ol>
      </details>
    </li>
  )
}
