import DOMPurify from 'dompurify'
import { marked } from 'marked'
import { useMemo } from 'preact/hooks'

/** Markdown written by a model, rendered with marked and sanitized with DOMPurify (no script, no event handlers). */
export function Markdown(props: { text: string; testid?: string; class?: string }) {
  const html = useMemo(() => DOMPurify.sanitize(marked.parse(props.text, { async: false, gfm: true }) as string), [props.text])
  return <div class={`prose markdown ${props.class ?? ''}`.trim()} data-testid={props.testid} dangerouslySetInnerHTML={{ __html: html }} />
}
