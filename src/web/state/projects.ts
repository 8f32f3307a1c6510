/** The caller's projects, shared by the command page and the board's filter. */
import { signal } from '@preact/signals'
import { api, errorMessage } from '../api.ts'
import type { Project } from '../types.ts'

export const projects = signal<Project[]>([])
export const projectsLoaded = signal(false)
export const projectsError = signal<string | null>(null)

let inflight: Promise<void> | null = null

export function loadProjects(force = false): Promise<void> {
  if (projectsLoaded.value && !force) return Promise.resolve()
  inflight ??= api
    .projects()
    .then(
      (list) => {
        projects.value = list
        projectsError.value = null
        projectsLoaded.value = true
      },
      (err) => {
        projectsError.value = errorMessage(err)
      },
    )
    .finally(() => (inflight = null))
  return inflight
}

export async function createProject(body: { name: string; repo_url?: string; default_branch?: string }): Promise<Project> {
  const project = await api.createProject(body)
  projects.value = [...projects.value.filter((p) => p.id !== project.id), project]
  return project
}

const LAST_KEY = 'omoi.lastProject'

export function lastProjectId(): string | null {
  try {
    return localStorage.getItem(LAST_KEY)
  } catch {
    return null
  }
}

export function rememberProject(id: string): void {
  try {
    localStorage.setItem(LAST_KEY, id)
  } catch {
    // storage disabled: the picker just starts empty next time
  }
}
