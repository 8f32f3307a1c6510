import * as v from 'valibot'
import { CompleteTaskSchema } from './phase-outputs.ts'

/**
 * What a task's worker posts as its result when the model calls `complete_task` (CONTRACT §8): the model's own words
 * plus what the sandbox saw itself — the commit, the files git says changed since the task's start, and the check
 * command it ran. The server's task evaluator trusts these, never the model's claims.
 */

/** How long the check may run, and how much of its output is kept (the tail, counted in code points). */
export const CHECK_TIMEOUT_S = 600
export const CHECK_OUTPUT_CAP = 4_000

export const CheckResultSchema = v.object({
  command: v.string(),
  /** null when the command was killed (timeout). */
  exit_code: v.nullable(v.number()),
  passed: v.boolean(),
  duration_ms: v.number(),
  output_tail: v.string(),
})
export type CheckResult = v.InferOutput<typeof CheckResultSchema>

export const TaskReportSchema = v.object({
  ...CompleteTaskSchema.entries,
  branch: v.string(),
  commit: v.string(),
  /** The commit the task started from (its spec branch as it stood then). */
  base_commit: v.string(),
  files_changed: v.array(v.string()),
  /** null when neither the project nor the spec names a check command. */
  check: v.nullable(CheckResultSchema),
  /** Files that still hold git conflict markers (`<<<<<<<`, `>>>>>>>`). */
  conflict_markers: v.optional(v.array(v.string()), []),
})
export type TaskReport = v.InferOutput<typeof TaskReportSchema>
