import { useSignal } from '@preact/signals'
import { ApiError, api, errorMessage } from '../api.ts'
import type { Project } from '../types.ts'
import { controlProps, Field } from './field.tsx'

/** Name, default branch and check command (PATCH /projects/:id, owner only); others read them. */
export function ProjectSettings(props: { project: Project; canEdit: boolean; onSaved: (p: Partial<Project>) => void }) {
  const { project, canEdit } = props
  const name = useSignal(project.name)
  const branch = useSignal(project.default_branch ?? 'main')
  const check = useSignal(project.check_command ?? '')
  const fields = useSignal<Record<string, string[]>>({})
  const error = useSignal<string | null>(null)
  const saved = useSignal(false)
  const saving = useSignal(false)

  const submit = async (e: Event) => {
    e.preventDefault()
    saving.value = true
    error.value = null
    saved.value = false
    try {
      const body = { name: name.value.trim(), default_branch: branch.value.trim(), check_command: check.value.trim() || null }
      const answer = await api.updateProject(project.id, body)
      props.onSaved(answer && typeof answer === 'object' ? answer : body)
      fields.value = {}
      saved.value = true
    } catch (err) {
      fields.value = err instanceof ApiError ? (err.fields ?? {}) : {}
      error.value = errorMessage(err)
    } finally {
      saving.value = false
    }
  }
  const fieldError = (k: string) => fields.value[k]?.join(' ') ?? null
  // A message about a field goes away as soon as that field is edited.
  const edit = (k: string, set: (v: string) => void) => (e: Event) => {
    set((e.currentTarget as HTMLInputElement).value)
    saved.value = false
    if (fields.value[k]) fields.value = Object.fromEntries(Object.entries(fields.value).filter(([f]) => f !== k))
  }

  return (
    <section class="panel" aria-labelledby="settings-title" data-testid="project-settings">
      <h2 id="settings-title" class="panel__title">
        Settings
      </h2>
      {!canEdit ? (
        <dl class="defs" data-testid="settings-readonly">
          <div>
            <dt>Default branch</dt>
            <dd>
              <code>{project.default_branch ?? 'main'}</code>
            </dd>
          </div>
          <div>
            <dt>Check command</dt>
            <dd>{project.check_command ? <code>{project.check_command}</code> : 'none (found by the exploring agent)'}</dd>
          </div>
        </dl>
      ) : (
        <form class="stack" onSubmit={submit} data-testid="settings-form">
          <Field id="settings-name" label="Name" error={fieldError('name')}>
            <input {...controlProps('settings-name', fieldError('name'))} type="text" required value={name.value} onInput={edit('name', (v) => (name.value = v))} />
          </Field>
          <Field id="settings-branch" label="Default branch" error={fieldError('default_branch')}>
            <input
              {...controlProps('settings-branch', fieldError('default_branch'))}
              type="text"
              required
              value={branch.value}
              onInput={edit('default_branch', (v) => (branch.value = v))}
            />
          </Field>
          <Field
            id="settings-check"
            label="Check command"
            error={fieldError('check_command')}
            hint="Run in the sandbox to verify each task, e.g. npm test. Empty: the exploring agent's suggestion is used."
          >
            <input
              {...controlProps('settings-check', fieldError('check_command'), 'hint')}
              type="text"
              value={check.value}
              onInput={edit('check_command', (v) => (check.value = v))}
            />
          </Field>
          <div class="controls__row">
            <button type="submit" class="btn btn--primary" data-testid="settings-save" disabled={saving.value}>
              {saving.value ? 'Saving…' : 'Save settings'}
            </button>
          </div>
          {error.value && Object.keys(fields.value).length === 0 ? (
            <p class="field__error" role="alert" data-testid="settings-error">
              {error.value}
            </p>
          ) : null}
          {saved.value ? (
            <p class="ok-text" role="status" data-testid="settings-saved">
              Saved.
            </p>
          ) : null}
        </form>
      )}
    </section>
  )
}
