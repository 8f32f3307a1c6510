import type { Connection } from '../socket.ts'

const LABELS: Record<Connection['state'], string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  refused: 'Disconnected',
}

/** A dot and a word for the socket's state; the reason, when known, is in the tooltip and for screen readers. */
export function ConnectionIndicator(props: { connection: Connection; testid?: string }) {
  const { state, message } = props.connection
  return (
    <div
      class={`conn conn--${state}`}
      data-testid={props.testid ?? 'connection-indicator'}
      data-state={state}
      role="status"
      aria-live="polite"
      title={message ?? LABELS[state]}
    >
      <span class="conn__dot" aria-hidden="true" />
      <span class="conn__label">{LABELS[state]}</span>
      {message && state !== 'connected' ? <span class="visually-hidden">{message}</span> : null}
    </div>
  )
}
