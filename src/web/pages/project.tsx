import { useSignal } from '@preact/signals'
import { useEffect } from 'preact/hooks'
import { api } from '../api.ts'
import { ErrorBanner } from '../components/error-banner.tsx'
import { ProjectMembers } from '../components/project-members.tsx'
import { ProjectSettings } from '../components/project-settings.tsx'
import { ProjectSpecs } from '../components/project-specs.tsx'
import { boardPath } from '../lib/routes.ts'
import type { Project } from '../types.ts'

/** `/projects/:id`: the project's specs (filter, search, pages), its settings and its members (changes: owner only). */
export function ProjectPage(props: { projectId: string }) {
  const project = useSignal<Project | null>(null)
  const error = useSignal<unknown>(null)
  useEffect(() => {
    let live = true
    api.project(props.projectId).then(
      (p) => live && (project.value = p),
      (err) => live && (error.value = err),
    )
    return () => void (live = false)
  }, [props.projectId])

  const p = project.value
  if (!p) {
    return (
      <div class="page">
        <h1 tabIndex={-1} data-page-title>
          {error.value ? 'Project not found' : 'Project'}
        </h1>
        {error.value ? <ErrorBanner error={error.value} testid="project-error" /> : <p class="muted">Loading…</p>}
      </div>
    )
  }
  const owner = p.role === 'owner'
  return (
    <div class="page page--wide" data-testid="project-page" data-project-id={p.id}>
      <header class="page__head">
        <h1 tabIndex={-1} data-page-title data-testid="project-name-title" class="wrap-anywhere">
          {p.name}
        </h1>
        <p class="muted">
          You are {p.role === 'owner' ? 'the owner' : `a${p.role === 'editor' ? 'n' : ''} ${p.role}`} ·{' '}
          <a href={boardPath(p.id)}>tickets on the board</a>
        </p>
      </header>
      <ProjectSpecs projectId={p.id} />
      <div class="project__grid">
        <ProjectSettings project={p} canEdit={owner} onSaved={(next) => (project.value = { ...p, ...next })} />
        <ProjectMembers projectId={p.id} canEdit={owner} />
      </div>
    </div>
  )
}
