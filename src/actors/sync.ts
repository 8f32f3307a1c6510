import { fromPromise } from 'xstate'
import { newId } from '../ids.ts'
import { transaction, type Sql } from '../db/connect.ts'
import { retryTransient } from '../db/transient.ts'
import { saveArtifact } from '../db/artifacts.ts'
import { findSpec } from '../db/specs.ts'
import type { SyncInput, SyncOutput } from './machine-types.ts'
import { planSync } from './sync-plan.ts'

/**
 * SYNC: checks coverage and the task graph, stores the coverage matrix as the `sync` artifact, and writes tickets and
 * tasks (owned by the spec's user) in one transaction keyed by (spec_id, key): running it again writes nothing new.
 */
export async function runSync(sql: Sql, input: SyncInput): Promise<SyncOutput> {
  const spec = await findSpec(sql, input.specId)
  if (!spec) throw new Error(`spec ${input.specId} does not exist`)
  const { requirements, tasks: plan } = input
  if (!requirements || !plan) throw new Error('SYNC needs the accepted requirements and tasks')
  const result = planSync(requirements, plan)
  if (!result.ok) throw new Error(`SYNC found problems: ${result.errors.join('; ')}`)

  await transaction(sql, async (tx) => {
    for (const t of plan.tickets) {
      await tx`
        insert into tickets (id, spec_id, user_id, project_id, key, title, description, priority, requirements)
        values (${newId('tkt')}, ${spec.id}, ${spec.user_id}, ${spec.project_id}, ${t.id}, ${t.title}, ${t.description},
                ${t.priority}, ${tx.json(t.requirements)})
        on conflict (spec_id, key) do nothing`
    }
    for (const t of plan.tasks) {
      await tx`
        insert into tasks (id, spec_id, ticket_id, key, title, description, depends_on, requirements, files, estimate_hours)
        values (${newId('tsk')}, ${spec.id}, (select id from tickets where spec_id = ${spec.id} and key = ${t.ticket}), ${t.id},
                ${t.title}, ${t.description}, ${tx.json(t.depends_on)}, ${tx.json(t.requirements)}, ${tx.json(t.files)}, ${t.estimate_hours})
        on conflict (spec_id, key) do nothing`
    }
    await saveArtifact(tx, {
      spec_id: spec.id,
      kind: 'sync',
      output: {
        coverage: result.coverage,
        uncovered_criteria: result.uncovered_criteria,
        order: result.order,
        tickets: plan.tickets.length,
        tasks: plan.tasks.length,
      },
      attempt: 1,
      score: 1,
    })
  })
  return {
    tickets: plan.tickets.length,
    tasks: plan.tasks.map((t) => ({ key: t.id, ticket: t.ticket, title: t.title, depends_on: t.depends_on })),
  }
}

// a database outage is a wait, never a SYNC failure
export const createSyncWriter = (sql: Sql) =>
  fromPromise<SyncOutput, SyncInput>(({ input, signal }) => retryTransient('write SYNC', () => runSync(sql, input), signal))
