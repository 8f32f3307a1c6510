import type { SpecEvent, Tokens } from '../types.ts'

const int = new Intl.NumberFormat('en-US')

export function formatCost(usd: number | null | undefined): string {
  if (typeof usd !== 'number' || !Number.isFinite(usd)) return '$0.00'
  if (usd > 0 && usd < 0.01) return `$${usd.toFixed(4)}`
  return `$${usd.toFixed(2)}`
}

/** Input/output split of a token count that may arrive as one number or an object. */
export function tokenParts(tokens: Tokens | null | undefined): { total: number; input: number | null; output: number | null } {
  if (typeof tokens === 'number') return { total: tokens, input: null, output: null }
  if (!tokens) return { total: 0, input: null, output: null }
  const input = tokens.input_tokens ?? tokens.input ?? null
  const output = tokens.output_tokens ?? tokens.output ?? null
  return { total: tokens.total ?? (input ?? 0) + (output ?? 0), input, output }
}

export function formatTokens(tokens: Tokens | null | undefined): string {
  const { total, input, output } = tokenParts(tokens)
  const head = `${int.format(total)} tokens`
  return input !== null && output !== null ? `${head} (${int.format(input)} in · ${int.format(output)} out)` : head
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return ''
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  return `${Math.floor(m / 60)}h ${m % 60}m`
}

export function formatScore(score: number | null | undefined): string {
  return typeof score === 'number' ? score.toFixed(2) : '–'
}

export function humanize(value: string): string {
  return value.replace(/_/g, ' ')
}

function str(value: unknown): string | null {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return null
}

/** What the room knows beside the event: people's names by user id, and whether an agent error only echoes a stop. */
export interface EventContext {
  names?: ReadonlyMap<string, string>
  stopped?: boolean
}

/** A person as events name them: a name, an object with a name, or an id (shown as the name when it is known). */
function whoWith(names: ReadonlyMap<string, string> | undefined, value: unknown): string {
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>
    return str(o.name) ?? (str(o.id) && names?.get(str(o.id)!)) ?? str(o.email) ?? str(o.id) ?? 'someone'
  }
  const id = str(value)
  if (id === 'budget') return 'the budget'
  return (id && names?.get(id)) ?? (id?.startsWith('usr_') ? 'someone' : id) ?? 'someone'
}

const WAIT_REASONS: Record<string, string> = {
  rate_limited: 'rate limited',
  overloaded: 'overloaded',
  server_error: 'a server error',
  connection: 'a connection problem',
}

function count(value: unknown, noun: string): string {
  const n = Array.isArray(value) ? value.length : typeof value === 'number' ? value : 0
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

/** A short one-line preview of a value, for tool inputs and unknown events. */
export function preview(value: unknown, max = 140): string {
  let s: string
  if (typeof value === 'string') s = value
  else {
    try {
      s = JSON.stringify(value) ?? ''
    } catch {
      s = String(value)
    }
  }
  s = s.replace(/\s+/g, ' ').trim()
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}

/** One line saying what an event means, for the timeline. */
export function summarizeEvent(e: Pick<SpecEvent, 'type' | 'data'>, ctx: EventContext = {}): string {
  const d = e.data ?? {}
  const who = (value: unknown) => whoWith(ctx.names, value)
  const phase = str(d.phase) ?? ''
  switch (e.type) {
    case 'spec.execution_started':
      return 'Execution started'
    case 'spec.phase_started':
      return `Phase ${phase} started${typeof d.attempt === 'number' ? ` (attempt ${d.attempt})` : ''}`
    case 'spec.phase_completed': {
      const score = typeof d.eval_score === 'number' ? `, score ${formatScore(d.eval_score)}` : ''
      const took = typeof d.duration_ms === 'number' ? ` in ${formatDuration(d.duration_ms)}` : ''
      return `Phase ${phase} accepted${score}${took}`
    }
    case 'spec.phase_retry':
      return `Phase ${phase} attempt ${str(d.attempt) ?? '?'} rejected: ${str(d.feedback) ?? 'no feedback'}`
    case 'spec.phase_failed':
      return `Phase ${phase} failed: ${str(d.error) ?? str(d.feedback) ?? 'no reason given'}`
    case 'spec.awaiting_approval':
      return `Waiting for approval of ${phase}`
    case 'spec.approved':
      return `${phase} approved by ${who(d.by)}`
    case 'spec.revision_requested':
      return `${who(d.by)} requested changes to ${phase}: ${str(d.feedback) ?? ''}`
    case 'spec.paused':
      return `Paused by ${who(d.by)}`
    case 'spec.resumed':
      return `Resumed by ${who(d.by)}`
    case 'spec.cancelled':
      return `Cancelled by ${who(d.by)}`
    case 'spec.retried':
      return `Retried by ${who(d.by)}`
    case 'spec.tasks_queued':
      return `Queued ${count(d.tickets, 'ticket')} and ${count(d.tasks, 'task')}`
    case 'spec.task_started':
      return `Task ${str(d.task_id) ?? ''} started`
    case 'spec.task_completed':
      return `Task ${str(d.task_id) ?? ''} completed${str(d.branch) ? ` on ${str(d.branch)}` : ''}`
    case 'spec.task_failed':
      return `Task ${str(d.task_id) ?? ''} failed: ${str(d.error) ?? 'no reason given'}`
    case 'spec.task_blocked':
      return `Task ${str(d.task_id) ?? ''} blocked${str(d.reason) ? `: ${str(d.reason)}` : ''}`
    case 'spec.sandbox_replaced':
      return `Sandbox replaced${str(d.reason) ? `: ${str(d.reason)}` : ''}`
    case 'spec.budget_exceeded':
      return `Budget exceeded: ${formatCost(Number(d.cost_usd))} of ${formatCost(Number(d.budget_usd))}`
    case 'spec.execution_completed':
      return 'Execution completed'
    case 'spec.execution_failed':
      return `Execution failed${phase ? ` in ${phase}` : ''}: ${str(d.error) ?? 'no reason given'}`
    case 'agent.started':
      return 'Agent started'
    case 'agent.heartbeat':
      return 'Agent heartbeat'
    case 'agent.message':
      return str(d.text) ?? ''
    case 'agent.tool_use':
      return `${str(d.tool) ?? 'tool'} ${preview(d.input)}`
    case 'agent.tool_result':
      return `${str(d.tool) ?? 'tool'} ${d.ok === false ? 'failed' : 'ok'}${str(d.summary) ? `: ${str(d.summary)}` : ''}`
    case 'agent.message_injected':
      return `Message delivered to the agent: ${str(d.text) ?? ''}`
    case 'agent.usage':
      return `Used ${int.format(Number(d.input_tokens) || 0)} input and ${int.format(Number(d.output_tokens) || 0)} output tokens`
    case 'agent.error':
      if (ctx.stopped) return 'Agent stopped: its sandbox was ended when the spec was paused or cancelled'
      return `Agent error: ${str(d.error) ?? preview(d.error)}`
    case 'agent.waiting': {
      const reason = WAIT_REASONS[str(d.reason) ?? ''] ?? str(d.reason) ?? 'busy'
      const seconds = Math.max(1, Math.round((Number(d.retry_in_ms) || 0) / 1000))
      return `Waiting for the model: ${reason}, retry in ${seconds} s${typeof d.attempt === 'number' ? ` (attempt ${d.attempt})` : ''}`
    }
    case 'agent.completed':
      return 'Agent finished'
    case 'user.message':
      return `${who(d.by)}: ${str(d.text) ?? ''}`
    default:
      return preview(d)
  }
}

export type Tone = 'ok' | 'error' | 'warn' | 'info' | 'muted'

/** How an event is coloured in the timeline. */
export function eventTone(e: Pick<SpecEvent, 'type' | 'data'>, ctx: EventContext = {}): Tone {
  if (e.type === 'agent.error' && ctx.stopped) return 'muted'
  if (e.type === 'agent.waiting') return 'warn'
  if (/(_failed|error|budget_exceeded|cancelled)$/.test(e.type)) return 'error'
  if (e.type === 'agent.tool_result' && e.data?.ok === false) return 'error'
  if (/(phase_retry|awaiting_approval|revision_requested|paused|task_blocked|sandbox_replaced)$/.test(e.type)) return 'warn'
  if (/(_completed|approved)$/.test(e.type)) return 'ok'
  if (e.type === 'agent.heartbeat' || e.type === 'agent.usage') return 'muted'
  return 'info'
}
