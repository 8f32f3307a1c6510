import type { ComponentChildren } from 'preact'

/** The ARIA wiring of a control inside a {@link Field}: its id, invalid state, and the hint/error it is described by. */
export function controlProps(id: string, error?: string | null, hint?: string | null) {
  const describedBy = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ')
  return {
    id,
    'aria-invalid': error ? ('true' as const) : undefined,
    'aria-describedby': describedBy || undefined,
  }
}

/** A labelled control with its hint and, when the API or the form rejected it, the message right under it. */
export function Field(props: {
  id: string
  label: string
  error?: string | null
  hint?: ComponentChildren
  class?: string
  children: ComponentChildren
}) {
  const { id, label, error, hint, children } = props
  return (
    <div class={['field', error ? 'field--invalid' : '', props.class ?? ''].join(' ').trim()}>
      <label class="field__label" for={id}>
        {label}
      </label>
      {children}
      {hint ? (
        <p class="field__hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p class="field__error" id={`${id}-error`} data-testid={`${id}-error`} role="alert">
          {error}
        </p>
      ) : null}
    </div>
  )
}
