import type { SpecEvent, SpecStatus } from '../types.ts'

/** One rejected submission of a phase: what the evaluator said, and what the agent had submitted. */
export interface Rejection {
  /** 1-based, counting every submission of the phase since it was last (re)started by a person. */
  n: number
  score: number | null
  feedback: string
  /** The submit tool's input, when the log has it. */
  output: unknown
}

export interface Failure {
  phase: string | null
  task: string | null
  reason: string
  rejections: Rejection[]
}

const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null)
const submitTool = (phase: string) => (phase === 'explore' ? 'submit_exploration' : `submit_${phase}`)

/**
 * Why a failed spec failed, readable: the reason, and for a phase every rejected submission with its score, feedback
 * and output (pairing the n-th submit call with the n-th verdict). Null unless the spec is `failed`.
 */
export function failureOf(status: SpecStatus, events: readonly SpecEvent[]): Failure | null {
  if (status !== 'failed') return null
  // Only what happened since the last retry counts.
  const from = events.findLastIndex((e) => e.type === 'spec.retried') + 1
  const recent = events.slice(from)
  const last = recent.findLast((e) => e.type === 'spec.execution_failed' || e.type === 'spec.phase_failed' || e.type === 'spec.task_failed')
  const phase = str(last?.data?.phase) ?? str(recent.findLast((e) => e.type === 'spec.phase_failed')?.data?.phase)
  const task = str(last?.data?.task_id)
  const reason = str(last?.data?.error) ?? str(last?.data?.feedback) ?? 'No reason was recorded.'
  if (!phase) return { phase: null, task, reason, rejections: [] }

  const sandboxes = new Set(recent.filter((e) => e.type === 'spec.phase_started' && e.data?.phase === phase).map((e) => str(e.data?.sandbox_id)))
  const outputs = recent
    .filter((e) => e.type === 'agent.tool_use' && e.data?.tool === submitTool(phase) && (sandboxes.size === 0 || sandboxes.has(e.sandbox_id)))
    .map((e) => e.data?.input)
  const verdicts = recent
    .filter((e) => e.type === 'spec.phase_retry' && e.data?.phase === phase)
    .map((e) => ({ score: typeof e.data?.eval_score === 'number' ? e.data.eval_score : null, feedback: str(e.data?.feedback) ?? 'no feedback given' }))
  // The last rejection fails the phase without a retry event; its feedback is in the failure's reason.
  if (outputs.length > verdicts.length && /rejected/i.test(reason)) verdicts.push({ score: null, feedback: reason.replace(/^.*last feedback:\s*/i, '') })
  const rejections = verdicts.map((v, i) => ({ n: i + 1, ...v, output: outputs[i] }))
  return { phase, task, reason, rejections }
}
