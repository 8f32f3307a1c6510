/**
 * An error where it happened: the API's own message (never its code: people read sentences), or any other error's
 * message, plus field messages the form has no control for.
 */
export function ErrorBanner(props: { error: unknown; extra?: string[]; testid?: string; onRetry?: () => void }) {
  const { error, extra = [] } = props
  if (!error) return null
  const message = error instanceof Error ? error.message : String(error)
  return (
    <div class="error-banner" role="alert" data-testid={props.testid ?? 'error-banner'}>
      <p>
        {message}
      </p>
      {extra.length > 0 ? (
        <ul>
          {extra.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      ) : null}
      {props.onRetry ? (
        <button type="button" class="btn btn--small" onClick={props.onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  )
}
