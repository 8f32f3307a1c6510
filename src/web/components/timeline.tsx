import { useSignal } from '@preact/signals'
import { useLayoutEffect, useMemo, useRef } from 'preact/hooks'
import { countNewerThan, countVisible, eventTypes, filterEvents, groupEvents, type EventFilter } from '../lib/events.ts'
import { sandboxLabels, stoppedAgentErrors } from '../lib/labels.ts'
import type { SpecEvent } from '../types.ts'
import { EventRow, ToolGroupRow, type RowContext } from './event-row.tsx'

const PAGE = 200
/** Within this many pixels of the top counts as "at the newest event". */
const PINNED_PX = 8

/**
 * The live event log, newest first. While the list is scrolled to the top it follows new events; once the user scrolls
 * away it holds still (new rows are added above without moving what they read) and offers a jump back.
 */
export function Timeline(props: { events: readonly SpecEvent[]; notice?: string | null; names?: ReadonlyMap<string, string> }) {
  const { events } = props
  const row = useMemo<RowContext>(
    () => ({ labels: sandboxLabels(events), stopped: stoppedAgentErrors(events), names: props.names ?? new Map() }),
    [events, props.names],
  )
  const visibleCount = useMemo(() => countVisible(events), [events])
  const filter = useSignal<EventFilter>('all')
  const showHeartbeats = useSignal(false)
  const limit = useSignal(PAGE)
  const following = useSignal(true)
  /** The newest seq the user had in view when they scrolled away. */
  const seenSeq = useSignal<number | null>(null)
  const list = useRef<HTMLOListElement>(null)
  /** The first row in view and its distance from the top, to keep it in place when rows are added above. */
  const anchor = useRef<{ row: HTMLElement; offset: number } | null>(null)

  const types = useMemo(() => eventTypes(events), [events])
  const items = groupEvents(filterEvents(events, { filter: filter.value, showHeartbeats: showHeartbeats.value }))
  const shown = items.slice(0, limit.value)
  const newest = events.length > 0 ? events[events.length - 1]!.seq : null
  const unseen = following.value ? 0 : countNewerThan(events, seenSeq.value)

  const captureAnchor = () => {
    const el = list.current
    anchor.current = null
    if (!el) return
    for (const child of Array.from(el.children) as HTMLElement[]) {
      if (child.offsetTop + child.offsetHeight > el.scrollTop) {
        anchor.current = { row: child, offset: child.offsetTop - el.scrollTop }
        return
      }
    }
  }

  // Rows are inserted above what the user reads; keep the row they were reading where it was (the browser's own
  // scroll anchoring is switched off in CSS so both do not apply). Following: stay at the newest.
  useLayoutEffect(() => {
    const el = list.current
    if (!el) return
    if (following.value) el.scrollTop = 0
    else if (anchor.current?.row.isConnected) el.scrollTop = anchor.current.row.offsetTop - anchor.current.offset
    captureAnchor()
  })

  const onScroll = () => {
    const el = list.current
    if (!el) return
    const atTop = el.scrollTop <= PINNED_PX
    if (atTop !== following.value) {
      following.value = atTop
      seenSeq.value = atTop ? null : newest
    }
    captureAnchor()
  }

  const refollow = () => {
    following.value = true
    seenSeq.value = null
    limit.value = PAGE
  }

  const jump = () => {
    following.value = true
    seenSeq.value = null
    list.current?.scrollTo({ top: 0 })
  }

  return (
    <section class="panel timeline" aria-labelledby="timeline-title" data-testid="timeline">
      <div class="timeline__head">
        <h2 id="timeline-title" class="panel__title">
          Timeline <span class="count" data-testid="timeline-count">{visibleCount}</span>
        </h2>
        <div class="timeline__tools">
          <label class="inline-field">
            <span>Show</span>
            <select
              data-testid="timeline-filter"
              value={filter.value}
              onChange={(e) => {
                filter.value = e.currentTarget.value as EventFilter
                refollow()
              }}
            >
              <option value="all">All events</option>
              <optgroup label="By source">
                <option value="source:system">System</option>
                <option value="source:agent">Agent</option>
                <option value="source:user">People</option>
              </optgroup>
              <optgroup label="By type">
                {types.map((t) => (
                  <option key={t} value={`type:${t}`}>
                    {t}
                  </option>
                ))}
              </optgroup>
            </select>
          </label>
          <label class="inline-field">
            <input
              type="checkbox"
              data-testid="timeline-heartbeats"
              checked={showHeartbeats.value}
              onChange={(e) => {
                showHeartbeats.value = e.currentTarget.checked
                refollow()
              }}
            />
            <span>Heartbeats</span>
          </label>
        </div>
      </div>
      <p class="timeline__follow" data-testid="timeline-follow" data-following={String(following.value)} aria-live="polite">
        {following.value ? (
          <span class="muted">Following new events</span>
        ) : (
          <button type="button" class="btn btn--small" data-testid="timeline-jump" onClick={jump}>
            {unseen > 0 ? `${unseen} new event${unseen === 1 ? '' : 's'} — jump to newest` : 'Jump to newest'}
          </button>
        )}
      </p>
      {props.notice ? (
        <p class="field__error" role="alert" data-testid="timeline-notice">
          {props.notice}
        </p>
      ) : null}
      <ol class="timeline__list" ref={list} onScroll={onScroll} data-testid="timeline-list" tabIndex={0} aria-label="Events, newest first">
        {shown.length === 0 ? (
          <li class="muted timeline__empty" data-testid="timeline-empty">
            {events.length === 0 ? 'No events yet.' : 'No events match the filter.'}
          </li>
        ) : (
          shown.map((item) =>
            item.kind === 'event' ? (
              <EventRow key={item.key} event={item.event} row={row} />
            ) : (
              <ToolGroupRow key={item.key} events={item.events} row={row} />
            ),
          )
        )}
        {items.length > shown.length ? (
          <li class="timeline__more">
            <button type="button" class="btn btn--small btn--ghost" data-testid="timeline-more" onClick={() => (limit.value += PAGE)}>
              Show older ({items.length - shown.length} more)
            </button>
          </li>
        ) : null}
      </ol>
    </section>
  )
}
