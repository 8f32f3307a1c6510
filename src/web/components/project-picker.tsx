import { useSignal } from '@preact/signals'
import { useEffect } from 'preact/hooks'
import { ApiError } from '../api.ts'
import { otherFieldMessages } from '../lib/api-error.ts'
import { createProject, projects, projectsError, projectsLoaded } from '../state/projects.ts'
import { ErrorBanner } from './error-banner.tsx'
import { Field, controlProps } from './field.tsx'

/**
 * Choose a project, or create one inline (name, repository URL or local path, default branch). Lives inside the
 * command form, so Enter in the inline fields creates the project instead of submitting the idea.
 */
export function ProjectPicker(props: { value: string; onChange: (id: string) => void; error?: string | null }) {
  const list = projects.value
  const creating = useSignal(false)
  const name = useSignal('')
  const repo = useSignal('')
  const branch = useSignal('')
  const busy = useSignal(false)
  const createError = useSignal<unknown>(null)

  // No projects yet: open the inline form, it is the only way forward.
  useEffect(() => {
    if (projectsLoaded.value && list.length === 0) creating.value = true
  }, [projectsLoaded.value, list.length])

  const fieldError = (f: string) => (createError.value instanceof ApiError ? createError.value.fieldMessage(f) : null)

  const create = async () => {
    if (!name.value.trim()) {
      createError.value = new ApiError(400, 'invalid_body', 'Give the project a name.', { name: ['name is required'] })
      return
    }
    busy.value = true
    createError.value = null
    try {
      const project = await createProject({
        name: name.value.trim(),
        ...(repo.value.trim() ? { repo_url: repo.value.trim() } : {}),
        ...(branch.value.trim() ? { default_branch: branch.value.trim() } : {}),
      })
      props.onChange(project.id)
      creating.value = false
      name.value = repo.value = branch.value = ''
    } catch (err) {
      createError.value = err
    } finally {
      busy.value = false
    }
  }

  const enterCreates = (e: KeyboardEvent) => {
    if (e.key === 'Enter') {
      e.preventDefault()
      void create()
    }
  }

  return (
    <div class="project-picker" data-testid="project-picker">
      <div class="project-picker__row">
        <Field id="project" label="Project" error={props.error ?? projectsError.value} class="grow">
          <select
            {...controlProps('project', props.error ?? projectsError.value)}
            data-testid="project-select"
            value={props.value}
            onChange={(e) => props.onChange(e.currentTarget.value)}
          >
            <option value="" disabled>
              {projectsLoaded.value ? (list.length ? 'Choose a project…' : 'No projects yet') : 'Loading projects…'}
            </option>
            {list.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
                {p.repo_url ? ` — ${p.repo_url}` : ''}
              </option>
            ))}
          </select>
        </Field>
        <button
          type="button"
          class="btn btn--ghost project-picker__new"
          aria-expanded={creating.value}
          aria-controls="new-project"
          data-testid="project-new"
          onClick={() => (creating.value = !creating.value)}
        >
          {creating.value ? 'Close' : 'New project'}
        </button>
      </div>
      {creating.value ? (
        <fieldset id="new-project" class="subform" data-testid="project-create">
          <legend>New project</legend>
          <Field id="project-name" label="Name" error={fieldError('name')}>
            <input
              {...controlProps('project-name', fieldError('name'))}
              type="text"
              data-testid="project-name"
              value={name.value}
              onInput={(e) => (name.value = e.currentTarget.value)}
              onKeyDown={enterCreates}
            />
          </Field>
          <Field
            id="project-repo"
            label="Repository URL or local path"
            error={fieldError('repo_url')}
            hint="A git URL (https://…, git@host:path) or an absolute path on the server. Optional."
          >
            <input
              {...controlProps('project-repo', fieldError('repo_url'), 'hint')}
              type="text"
              spellcheck={false}
              autoComplete="off"
              placeholder="https://github.com/you/app.git"
              data-testid="project-repo"
              value={repo.value}
              onInput={(e) => (repo.value = e.currentTarget.value)}
              onKeyDown={enterCreates}
            />
          </Field>
          <Field id="project-branch" label="Default branch" error={fieldError('default_branch')} hint="Optional; the repository's default if empty.">
            <input
              {...controlProps('project-branch', fieldError('default_branch'), 'hint')}
              type="text"
              spellcheck={false}
              autoComplete="off"
              placeholder="main"
              data-testid="project-branch"
              value={branch.value}
              onInput={(e) => (branch.value = e.currentTarget.value)}
              onKeyDown={enterCreates}
            />
          </Field>
          <ErrorBanner
            error={createError.value}
            extra={otherFieldMessages(createError.value, ['name', 'repo_url', 'default_branch'])}
            testid="project-create-error"
          />
          <button type="button" class="btn" onClick={() => void create()} disabled={busy.value} data-testid="project-create-submit">
            {busy.value ? 'Creating…' : 'Create project'}
          </button>
        </fieldset>
      ) : null}
    </div>
  )
}
