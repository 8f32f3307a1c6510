import { eventTone, formatTime, preview, summarizeEvent, type EventContext } from '../lib/format.ts'
import type { SpecEvent } from '../types.ts'
import { JsonView } from './json-view.tsx'

/** How the timeline labels rows: what each sandbox worked on, people's names, agent errors that echo a stop. */
export interface RowContext {
  labels: ReadonlyMap<string, string>
  names: ReadonlyMap<string, string>
  stopped: ReadonlySet<number>
}

const ctxFor = (e: SpecEvent, row?: RowContext): EventContext => ({ names: row?.names, stopped: row?.stopped.has(e.seq) })

/** One event: time, what it worked on (task or phase), type and what it means; open it for the raw data. */
export function EventRow(props: { event: SpecEvent; row?: RowContext }) {
  const e = props.event
  const ctx = ctxFor(e, props.row)
  const label = e.sandbox_id ? props.row?.labels.get(e.sandbox_id) : undefined
  return (
    <li class={`event event--${eventTone(e, ctx)}`} data-testid="event-row" data-seq={e.seq} data-type={e.type} data-source={e.source} data-label={label}>
      <details>
        <summary>
          <time class="event__time" dateTime={e.created_at}>
            {formatTime(e.created_at)}
          </time>
          <span class="event__type">
            {label ? (
              <span class="event__label" data-testid="event-label">
                {label}
              </span>
            ) : null}
            {e.type}
          </span>
          <span class="event__text">{summarizeEvent(e, ctx)}</span>
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
export function ToolGroupRow(props: { events: SpecEvent[]; row?: RowContext }) {
  const { events } = props
  const label = events[0]!.sandbox_id ? props.row?.labels.get(events[0]!.sandbox_id) : undefined
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
            {label ? <span class="event__label">{label}</span> : null}
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
              <EventRow key={e.seq} event={e} row={props.row} />
            ))}
        </ol>
      </details>
    </li>
  )
}
