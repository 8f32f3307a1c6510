import { useSignal } from '@preact/signals'
import { useEffect } from 'preact/hooks'
import { api, ApiError, errorMessage } from '../api.ts'
import { ErrorBanner } from '../components/error-banner.tsx'
import { Field, controlProps } from '../components/field.tsx'
import { ProjectPicker } from '../components/project-picker.tsx'
import { StatusBadge } from '../components/status-badge.tsx'
import { otherFieldMessages } from '../lib/api-error.ts'
import { formatDateTime } from '../lib/format.ts'
import { boardPath, projectPath, specPath } from '../lib/routes.ts'
import { deriveTitle } from '../lib/title.ts'
import { navigate } from '../router.ts'
import { lastProjectId, loadProjects, projects, rememberProject } from '../state/projects.ts'
import type { Spec } from '../types.ts'

type Mode = 'spec' | 'quick'

/** "What do you want to build?": one idea, a project, how to run it; then off to the spec room or the board. */
export function CommandPage() {
  const idea = useSignal('')
  const projectId = useSignal(lastProjectId() ?? '')
  const mode = useSignal<Mode>('spec')
  const approval = useSignal<'auto' | 'manual'>('auto')
  const budget = useSignal('')
  const error = useSignal<unknown>(null)
  const busy = useSignal(false)

  useEffect(() => void loadProjects(), [])
  // Keep the remembered project only if it still exists; with exactly one project, pick it.
  const list = projects.value
  useEffect(() => {
    if (list.length === 0) return
    if (!list.some((p) => p.id === projectId.value)) projectId.value = list.length === 1 ? list[0]!.id : ''
  }, [list])

  // A message about the form goes as soon as the person changes what it was about.
  useEffect(() => {
    error.value = null
  }, [idea.value, projectId.value, budget.value, mode.value, approval.value])

  const fieldError = (...names: string[]) => {
    const err = error.value
    if (!(err instanceof ApiError)) return null
    return names.map((n) => err.fieldMessage(n)).filter(Boolean).join(' ') || null
  }
  const title = deriveTitle(idea.value)
  const isSpec = mode.value === 'spec'

  const onSubmit = async (e: Event) => {
    e.preventDefault()
    error.value = null
    const fields: Record<string, string[]> = {}
    if (!idea.value.trim()) fields.description = ['Describe what you want to build.']
    if (!projectId.value) fields.project_id = ['Choose a project, or create one with "New project".']
    const budgetValue = budget.value.trim() === '' ? undefined : Number(budget.value)
    if (isSpec && budgetValue !== undefined && (!Number.isFinite(budgetValue) || budgetValue < 0)) {
      fields.budget_usd = ['The budget must be a number of dollars, 0 or more.']
    }
    if (Object.keys(fields).length > 0) {
      error.value = new ApiError(400, 'invalid_body', 'Some fields need attention.', fields)
      return
    }
    busy.value = true
    try {
      rememberProject(projectId.value)
      const common = { project_id: projectId.value, title, description: idea.value.trim() }
      if (isSpec) {
        const res = await api.launch({ ...common, approval: approval.value, ...(budgetValue !== undefined ? { budget_usd: budgetValue } : {}) })
        navigate(specPath(res.spec_id))
      } else {
        await api.createTicket(common)
        navigate(boardPath(projectId.value))
      }
    } catch (err) {
      error.value = err
    } finally {
      busy.value = false
    }
  }

  const onIdeaKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) {
      e.preventDefault()
      ;(e.currentTarget as HTMLTextAreaElement).form?.requestSubmit()
    }
  }

  const ideaError = fieldError('description', 'title')
  return (
    <div class="page page--narrow">
      <h1 class="page__title--quiet" tabIndex={-1} data-page-title>
        New spec
      </h1>
      <form class="command stack" onSubmit={onSubmit} noValidate data-testid="command-form">
        <Field
          id="idea"
          label="What do you want to build?"
          class="field--hero"
          error={ideaError}
          hint={title ? <>Title: <strong data-testid="derived-title">{title}</strong></> : 'The first line becomes the title. Ctrl+Enter launches.'}
        >
          <textarea
            {...controlProps('idea', ideaError, 'hint')}
            rows={6}
            data-testid="idea"
            placeholder="Add CSV export to the reports page, with the same filters as the table…"
            value={idea.value}
            onInput={(e) => (idea.value = e.currentTarget.value)}
            onKeyDown={onIdeaKey}
          />
        </Field>

        <ProjectPicker
          value={projectId.value}
          onChange={(id) => {
            projectId.value = id
            rememberProject(id)
          }}
          error={fieldError('project_id')}
        />

        <div class="options">
          <fieldset class="segmented" data-testid="mode">
            <legend>Mode</legend>
            {(
              [
                ['spec', 'Spec-driven', 'Explore, plan and review, then execute'],
                ['quick', 'Quick task', 'One ticket, run at once'],
              ] as const
            ).map(([value, label, hint]) => (
              <label key={value} class="segmented__option" title={hint}>
                <input
                  type="radio"
                  name="mode"
                  value={value}
                  checked={mode.value === value}
                  data-testid={`mode-${value}`}
                  onChange={() => (mode.value = value)}
                />
                <span>{label}</span>
              </label>
            ))}
          </fieldset>

          {isSpec ? (
            <fieldset class="segmented" data-testid="approval">
              <legend>Approval</legend>
              {(
                [
                  ['auto', 'Auto'],
                  ['manual', 'Manual'],
                ] as const
              ).map(([value, label]) => (
                <label key={value} class="segmented__option">
                  <input
                    type="radio"
                    name="approval"
                    value={value}
                    checked={approval.value === value}
                    data-testid={`approval-${value}`}
                    onChange={() => (approval.value = value)}
                  />
                  <span>{label}</span>
                </label>
              ))}
              {fieldError('approval') ? (
                <p class="field__error" role="alert">
                  {fieldError('approval')}
                </p>
              ) : null}
            </fieldset>
          ) : null}

          {isSpec ? (
            <Field id="budget" label="Budget (USD, optional)" error={fieldError('budget_usd')} class="field--budget">
              <input
                {...controlProps('budget', fieldError('budget_usd'))}
                type="number"
                inputMode="decimal"
                min="0"
                step="0.5"
                placeholder="no limit"
                data-testid="budget"
                value={budget.value}
                onInput={(e) => (budget.value = e.currentTarget.value)}
              />
            </Field>
          ) : null}
        </div>
        <p class="muted small">
          {isSpec
            ? approval.value === 'manual'
              ? 'You will approve the requirements, design and tasks before anything is built.'
              : 'Phases run one after another; you can pause or steer at any time.'
            : 'Creates one ticket with one task and runs it right away, without planning phases.'}
        </p>

        <ErrorBanner
          error={error.value}
          extra={otherFieldMessages(error.value, ['description', 'title', 'project_id', 'budget_usd', 'approval'])}
          testid="command-error"
        />
        <button type="submit" class="btn btn--primary btn--large" disabled={busy.value} data-testid="launch">
          {busy.value ? 'Launching…' : isSpec ? 'Launch spec' : 'Run quick task'}
        </button>
      </form>
      {projectId.value ? <RecentSpecs projectId={projectId.value} /> : null}
    </div>
  )
}

/** The project's specs, newest first, as a way back into their rooms. */
function RecentSpecs(props: { projectId: string }) {
  const specs = useSignal<Spec[] | null>(null)
  const error = useSignal<string | null>(null)
  useEffect(() => {
    let live = true
    specs.value = null
    error.value = null
    api.projectSpecs(props.projectId).then(
      (list) => live && (specs.value = [...list].sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''))),
      (err) => live && (error.value = errorMessage(err)),
    )
    return () => void (live = false)
  }, [props.projectId])

  if (error.value) {
    return (
      <p class="field__error" role="alert" data-testid="recent-specs-error">
        Could not load this project's specs: {error.value}
      </p>
    )
  }
  if (!specs.value || specs.value.length === 0) return null
  return (
    <section class="recent" aria-labelledby="recent-title" data-testid="recent-specs">
      <h2 id="recent-title" class="panel__title">
        Recent specs in this project
      </h2>
      <p class="small">
        <a href={projectPath(props.projectId)} data-testid="project-link">
          All specs, settings and members of this project
        </a>
      </p>
      <ul class="recent__list">
        {specs.value.slice(0, 10).map((s) => (
          <li key={s.id} data-testid="recent-spec">
            <a href={specPath(s.id)}>{s.title}</a>
            <StatusBadge status={s.status} />
            <span class="muted small">{formatDateTime(s.created_at)}</span>
          </li>
        ))}
      </ul>
    </section>
  )
}
