import type { Sql } from './connect.ts'

export const ARTIFACT_KINDS = ['exploration', 'requirements', 'design', 'tasks', 'sync'] as const
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number]

export async function saveArtifact(
  sql: Sql,
  a: { spec_id: string; kind: ArtifactKind; output: unknown; attempt: number; score: number | null },
): Promise<void> {
  await sql`
    insert into spec_artifacts (spec_id, kind, output, attempt, score)
    values (${a.spec_id}, ${a.kind}, ${sql.json(a.output as never)}, ${a.attempt}, ${a.score})
    on conflict (spec_id, kind) do update
      set output = excluded.output, attempt = excluded.attempt, score = excluded.score, updated_at = now()`
}

/** Every artifact kind, each the accepted output or null. */
export async function loadArtifacts(sql: Sql, specId: string): Promise<Record<ArtifactKind, unknown>> {
  const rows = await sql<{ kind: ArtifactKind; output: unknown }[]>`
    select kind, output from spec_artifacts where spec_id = ${specId}`
  const out = Object.fromEntries(ARTIFACT_KINDS.map((k) => [k, null])) as Record<ArtifactKind, unknown>
  for (const r of rows) out[r.kind] = r.output
  return out
}
