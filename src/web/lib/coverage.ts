import type { CriterionCoverage, RequirementCoverage } from '../../actors/sync-plan.ts'

export type { CriterionCoverage, RequirementCoverage }

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
const str = (v: unknown): string => (typeof v === 'string' ? v : '')

/**
 * The coverage rows of a stored `sync` artifact, whichever shape it was stored in: the list with criteria
 * (`[{requirement, title, tasks, criteria}]`), the older list without them, or the oldest map `{REQ: [TSK]}`.
 * Null when it holds no coverage at all.
 */
export function coverageRows(sync: Record<string, unknown> | null): RequirementCoverage[] | null {
  const raw = sync?.coverage
  if (Array.isArray(raw)) {
    return raw
      .filter((r): r is Record<string, unknown> => !!r && typeof r === 'object')
      .map((r) => ({
        requirement: str(r.requirement),
        title: str(r.title),
        tasks: strings(r.tasks),
        criteria: (Array.isArray(r.criteria) ? r.criteria : [])
          .filter((c): c is Record<string, unknown> => !!c && typeof c === 'object')
          .map((c) => ({ id: str(c.id), text: str(c.text), tasks: strings(c.tasks) })),
      }))
  }
  if (raw && typeof raw === 'object' && Object.values(raw).every(Array.isArray)) {
    return Object.entries(raw as Record<string, unknown[]>).map(([requirement, tasks]) => ({ requirement, title: '', tasks: strings(tasks), criteria: [] }))
  }
  return null
}

/** The criteria no task covers: the artifact's own list when it has one, else worked out from the rows. */
export function uncoveredCriteria(sync: Record<string, unknown> | null, rows: readonly RequirementCoverage[]): string[] {
  if (Array.isArray(sync?.uncovered_criteria)) return strings(sync.uncovered_criteria)
  return rows.flatMap((r) => r.criteria.filter((c) => c.tasks.length === 0).map((c) => c.id))
}
