import { useSignal } from '@preact/signals'
import DOMPurify from 'dompurify'
import { html as diffHtml } from 'diff2html'
import { useEffect } from 'preact/hooks'
import { api, errorMessage } from '../api.ts'
import type { SpecDiff } from '../types.ts'

/**
 * The changes of a delivered spec (GET /specs/:id/diff), or of one task's own commits: the files changed, and the diff
 * of the file picked, rendered by diff2html.
 */
export function ChangesView(props: { specId: string; tasks: string[]; task: string | null; onTask: (task: string | null) => void }) {
  const { specId, task } = props
  const diff = useSignal<SpecDiff | null>(null)
  const error = useSignal<string | null>(null)
  const path = useSignal<string | null>(null)
  const patch = useSignal<string | null>(null)

  useEffect(() => {
    let live = true
    diff.value = null
    path.value = null
    patch.value = null
    api.diff(specId, { task: task ?? undefined }).then(
      (d) => live && ((diff.value = d), (error.value = null)),
      (err) => live && (error.value = errorMessage(err)),
    )
    return () => void (live = false)
  }, [specId, task])

  useEffect(() => {
    let live = true
    patch.value = null
    if (path.value) {
      api.diffPatch(specId, { task: task ?? undefined, path: path.value }).then(
        (text) => live && (patch.value = text),
        (err) => live && (error.value = errorMessage(err)),
      )
    }
    return () => void (live = false)
  }, [specId, task, path.value])

  const d = diff.value
  return (
    <div class="artifact changes" data-testid="changes-view">
      <label class="inline-field">
        <span>Changes of</span>
        <select data-testid="changes-task" value={task ?? ''} onChange={(e) => props.onTask(e.currentTarget.value || null)}>
          <option value="">the whole spec</option>
          {props.tasks.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      {error.value ? (
        <p class="field__error" role="alert" data-testid="changes-error">
          Could not load the changes: {error.value}
        </p>
      ) : null}
      {d ? (
        <>
          <p class="muted" data-testid="changes-summary">
            {d.files.length} file{d.files.length === 1 ? '' : 's'}, +{d.insertions} −{d.deletions}
          </p>
          <ul class="changes__files" data-testid="changes-files">
            {d.files.map((f) => (
              <li key={f.path}>
                <button
                  type="button"
                  class="btn btn--small btn--ghost"
                  aria-pressed={path.value === f.path}
                  data-testid="changes-file"
                  data-path={f.path}
                  onClick={() => (path.value = f.path)}
                >
                  <code class="wrap-anywhere">{f.path}</code>
                </button>{' '}
                <span class="muted small">
                  {f.status} +{f.additions} −{f.deletions}
                </span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {patch.value !== null ? (
        <div
          class="changes__diff"
          tabIndex={0}
          role="region"
          aria-label={`Diff of ${path.value}`}
          data-testid="changes-diff"
          dangerouslySetInnerHTML={{ __html: DOMPurify.sanitize(diffHtml(patch.value, { drawFileList: false, outputFormat: 'line-by-line' })) }}
        />
      ) : null}
    </div>
  )
}
