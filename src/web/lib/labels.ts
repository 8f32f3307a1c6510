import type { SpecEvent } from '../types.ts'

/** What each sandbox worked on, from the events that started it: `TSK-001`, or the phase's name. */
export function sandboxLabels(events: readonly SpecEvent[]): Map<string, string> {
  const labels = new Map<string, string>()
  for (const e of events) {
    const sandbox = typeof e.data?.sandbox_id === 'string' ? e.data.sandbox_id : null
    if (!sandbox) continue
    if (e.type === 'spec.task_started' && typeof e.data.task_id === 'string') labels.set(sandbox, e.data.task_id)
    else if (e.type === 'spec.phase_started' && typeof e.data.phase === 'string') labels.set(sandbox, e.data.phase)
  }
  return labels
}

/**
 * The `agent.error` events that are only the echo of a person stopping the spec: after a pause or cancel the sandbox's
 * token is revoked, and the worker reports the refusal as if the model had rejected the key. Not failures.
 */
export function stoppedAgentErrors(events: readonly SpecEvent[]): Set<number> {
  const out = new Set<number>()
  let stopped = false
  for (const e of events) {
    if (e.type === 'spec.paused' || e.type === 'spec.cancelled') stopped = true
    else if (e.type === 'spec.resumed' || e.type === 'spec.retried' || e.type === 'spec.phase_started' || e.type === 'spec.task_started') stopped = false
    else if (e.type === 'agent.error' && stopped) out.add(e.seq)
  }
  return out
}

/** People's names by user id, from whatever the room knows (members, viewers, messages, the signed-in person). */
export function namesFrom(sources: { user_id?: string; id?: string; name?: string }[], events: readonly SpecEvent[] = []): Map<string, string> {
  const names = new Map<string, string>()
  for (const s of sources) {
    const id = s.user_id ?? s.id
    if (id && s.name) names.set(id, s.name)
  }
  for (const e of events) {
    if (e.type === 'user.message' && typeof e.data?.by === 'string' && typeof e.data?.by_name === 'string') names.set(e.data.by, e.data.by_name)
  }
  return names
}
