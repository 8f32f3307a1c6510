/** Pretty-printed JSON, for snapshots and shapes the UI does not know field by field. */
export function JsonView(props: { value: unknown; testid?: string; label?: string }) {
  let text: string
  try {
    text = JSON.stringify(props.value, null, 2) ?? 'undefined'
  } catch {
    text = String(props.value)
  }
  return (
    <pre class="json" data-testid={props.testid} aria-label={props.label} tabIndex={0}>
      {text}
    </pre>
  )
}
