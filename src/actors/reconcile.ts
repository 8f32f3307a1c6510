import { logger } from '../log.ts'
import type { Sql } from '../db/connect.ts'
import { endSandbox, type SandboxRow } from '../db/sandboxes.ts'
import type { SandboxProvider } from '../sandbox/provider.ts'
import type { AgentPhase } from '../schemas/phase-outputs.ts'
import type { SpecContext } from './machine-types.ts'
import { writeTaskRows } from './persist.ts'

const log = logger('omoi:actors')

/** What reconciling needs of the host: which specs run here and what their actors know. */
export interface ReconcileHost {
  liveSpecIds(): string[]
  context(specId: string): SpecContext | null
}

/**
 * Whether the spec's actor has a phase attempt or task attempt running that this sandbox row serves. A check sandbox
 * belongs to the integrator while the spec branch waits for its check (it ends its own rows).
 */
export function sandboxWanted(ctx: SpecContext, row: Pick<SandboxRow, 'kind' | 'phase' | 'task_id' | 'attempt' | 'generation'>): boolean {
  if (row.kind === 'check') return ctx.phases.execute.status === 'running' && !!ctx.delivery && !ctx.delivery.integrated
  const state = row.kind === 'phase' ? ctx.phases[row.phase as AgentPhase] : ctx.tasks[row.task_id ?? '']
  return !!state && state.status === 'running' && state.attempt === row.attempt && state.generation === row.generation
}

/**
 * Makes the rows match the actors, at boot and after a database outage: a sandbox row no running phase or task of a
 * live actor serves (or of a spec that has ended) is ended and its process stopped, so it holds no slot; task and
 * ticket rows take the status the actor's context has. Specs owned by another node are left alone.
 */
export async function reconcile(sql: Sql, host: ReconcileHost, provider: SandboxProvider): Promise<{ sandboxesEnded: number }> {
  const rows = await sql<(SandboxRow & { spec_status: string })[]>`
    select b.*, s.status as spec_status from sandboxes b join specs s on s.id = b.spec_id where b.status <> 'ended'`
  let sandboxesEnded = 0
  for (const row of rows) {
    const ctx = host.context(row.spec_id)
    const orphan = ctx ? !sandboxWanted(ctx, row) : ['completed', 'failed', 'cancelled'].includes(row.spec_status)
    if (!orphan) continue
    if (await endSandbox(sql, row.id, 'ended: no phase or task of its spec is waiting for it')) sandboxesEnded++
    if (row.external_id) {
      await provider.stop({ id: row.id, externalId: row.external_id }).catch((err: unknown) => {
        log.warn('could not stop an orphaned sandbox', { sandbox_id: row.id, err })
      })
    }
  }
  for (const specId of host.liveSpecIds()) {
    const ctx = host.context(specId)
    if (ctx && Object.keys(ctx.tasks).length > 0) await writeTaskRows(sql, specId, ctx.tasks, Object.values(ctx.tasks))
  }
  return { sandboxesEnded }
}
