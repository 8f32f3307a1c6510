import { AppError } from '../errors.ts'
import { newId } from '../ids.ts'
import type { Sql } from '../db/connect.ts'
import { findProjectFor } from '../db/projects.ts'
import { insertSpec, type SpecRow } from '../db/specs.ts'

export interface NewSpecInput {
  project_id?: string | null
  title: string
  description: string
  approval?: 'auto' | 'manual'
  budget_usd?: number | null
}

/** Inserts a draft spec for `userId`. A project must be visible (else 404) and editable by the user (else 403). */
export async function createDraftSpec(sql: Sql, userId: string, input: NewSpecInput, kind: SpecRow['kind'] = 'spec'): Promise<SpecRow> {
  if (input.project_id) {
    const project = await findProjectFor(sql, input.project_id, userId)
    if (!project) throw new AppError('not_found', 'Project was not found', { project_id: ['no such project'] })
    if (project.role === 'viewer') throw new AppError('forbidden', 'You are a viewer of this project: only its owner and editors can create specs.')
  }
  return insertSpec(sql, {
    id: newId('spec'),
    project_id: input.project_id ?? null,
    user_id: userId,
    title: input.title,
    description: input.description,
    approval: input.approval ?? 'auto',
    budget_usd: input.budget_usd ?? null,
    kind,
  })
}
