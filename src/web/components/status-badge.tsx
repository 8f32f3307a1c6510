import { humanize } from '../lib/format.ts'

/** A status as a coloured pill (spec, ticket, task). */
export function StatusBadge(props: { status: string; testid?: string }) {
  return (
    <span class={`badge badge--${props.status}`} data-testid={props.testid} data-status={props.status}>
      {humanize(props.status)}
    </span>
  )
}
