/** Any path the UI does not know. */
export function NotFoundPage(props: { path: string }) {
  return (
    <div class="page page--narrow" data-testid="not-found">
      <h1 tabIndex={-1} data-page-title>
        Page not found
      </h1>
      <p>
        Nothing lives at <code>{props.path}</code>. <a href="/">Start something new</a> or <a href="/board">open the board</a>.
      </p>
    </div>
  )
}
