import type { SpecEvent } from '../schemas/events.ts'
import type { SpecBusMessage } from './bus.ts'
import { logger } from '../log.ts'

/**
 * A spec's story in the server log: one `info` line per step a person follows (launched, phase started / accepted /
 * rejected, awaiting approval, approved, task started / completed / failed, spec completed / failed / cancelled),
 * each with `spec_id`. Read from the events the host publishes after each commit, so the log says only what is stored.
 */

type StoryLine = { msg: string; fields: Record<string, unknown> }

const pick = (data: Record<string, unknown>, ...keys: string[]) =>
  Object.fromEntries(keys.filter((k) => data[k] !== undefined && data[k] !== null).map((k) => [k, data[k]]))

/** The story line of one stored event, or null for events that are not a step of the story (agent chatter, usage). */
export function storyLine(event: Pick<SpecEvent, 'type' | 'data'>): StoryLine | null {
  const d = event.data ?? {}
  const line = (msg: string, ...keys: string[]): StoryLine => ({ msg, fields: pick(d, ...keys) })
  switch (event.type) {
    case 'spec.execution_started':
      return line('spec launched')
    case 'spec.phase_started':
      return line('phase started', 'phase', 'attempt', 'sandbox_id')
    case 'spec.phase_completed': {
      const { msg, fields } = line('phase accepted', 'phase', 'attempt', 'duration_ms')
      return { msg, fields: { ...fields, ...(d.eval_score != null ? { score: d.eval_score } : {}) } }
    }
    case 'spec.phase_retry': {
      const { msg, fields } = line('phase rejected', 'phase', 'task_id', 'attempt', 'submission', 'feedback')
      return { msg, fields: { ...fields, ...(d.eval_score != null ? { score: d.eval_score } : {}) } }
    }
    case 'spec.phase_failed':
      return line('phase failed', 'phase', 'attempt', 'error', 'feedback')
    case 'spec.awaiting_approval':
      return line('awaiting approval', 'phase')
    case 'spec.approved':
      return line('approved', 'phase', 'by')
    case 'spec.revision_requested':
      return line('revision requested', 'phase', 'by')
    case 'spec.paused':
      return line('spec paused', 'by')
    case 'spec.resumed':
      return line('spec resumed', 'by')
    case 'spec.retried':
      return line('spec retried', 'phase', 'task_id', 'by')
    case 'spec.tasks_queued':
      return line('tasks queued', 'tickets', 'tasks')
    case 'spec.task_started':
      return line('task started', 'task_id', 'attempt', 'sandbox_id')
    case 'spec.task_completed':
      return line('task completed', 'task_id', 'branch')
    case 'spec.task_failed':
      return line('task failed', 'task_id', 'attempt', 'error', 'will_retry')
    case 'spec.task_blocked':
      return line('task blocked', 'task_id', 'blocked_by')
    case 'spec.budget_exceeded':
      return line('budget exceeded', 'cost_usd', 'budget_usd')
    case 'spec.execution_completed':
      return line('spec completed')
    case 'spec.execution_failed':
      return line('spec failed', 'phase', 'error')
    case 'spec.cancelled':
      return line('spec cancelled', 'by')
    default:
      return null
  }
}

/** A bus listener that writes the story lines (scope `omoi:story`). */
export function storyLogger(): (message: SpecBusMessage) => void {
  const log = logger('omoi:story')
  return (message) => {
    if (message.kind !== 'events') return
    for (const event of message.events) {
      const story = storyLine(event)
      if (story) log.info(story.msg, { spec_id: message.specId, seq: event.seq, ...story.fields })
    }
  }
}
