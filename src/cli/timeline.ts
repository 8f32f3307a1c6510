/**
 * The pure side of `omoi watch`: keeping a spec's timeline in order across joins and reconnects, and how its events
 * and phase progress read in a terminal.
 */

export interface TimelineEvent {
  seq: number
  type: string
  data: Record<string, unknown>
  source?: string
  created_at?: string
}

export interface SpecPhase {
  phase: string
  status: string
  attempts?: number
  eval_score?: number | null
}

export interface SpecView {
  id: string
  title?: string
  status: string
  current_phase?: string | null
  phases?: SpecPhase[]
}

export const FINAL_STATUSES = ['completed', 'failed', 'cancelled']

/**
 * Each event once, in seq order. Live events that arrive before the answer of a (re)join are held back, and shown
 * after the events of that answer: the answer replays everything after `lastSeq`, and a live event may be newer.
 */
export class Timeline {
  lastSeq = 0
  private joined = false
  private held: TimelineEvent[] = []

  /** A (re)join is on its way: hold live events until its answer. */
  joining(): void {
    this.joined = false
  }

  /** The join answer's events; answers what to show: those, then the held live ones, each once, by seq. */
  joinAnswered(events: TimelineEvent[]): TimelineEvent[] {
    this.joined = true
    const held = this.held
    this.held = []
    return this.accept([...events, ...held])
  }

  /** A live event; answers what to show now (nothing while a join is unanswered, or for an event seen already). */
  live(event: TimelineEvent): TimelineEvent[] {
    if (!this.joined) {
      this.held.push(event)
      return []
    }
    return this.accept([event])
  }

  private accept(events: TimelineEvent[]): TimelineEvent[] {
    const out: TimelineEvent[] = []
    for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
      if (event.seq <= this.lastSeq) continue
      this.lastSeq = event.seq
      out.push(event)
    }
    return out
  }
}

export interface Paint {
  dim(s: string): string
  bold(s: string): string
  green(s: string): string
  red(s: string): string
  yellow(s: string): string
  cyan(s: string): string
}

const code = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`
/** ANSI colours, or none (when the output is not a TTY, or NO_COLOR is set). */
export function paint(enabled: boolean): Paint {
  if (!enabled) return { dim: (s) => s, bold: (s) => s, green: (s) => s, red: (s) => s, yellow: (s) => s, cyan: (s) => s }
  return { dim: code(2, 22), bold: code(1, 22), green: code(32, 39), red: code(31, 39), yellow: code(33, 39), cyan: code(36, 39) }
}

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v))
const score = (v: unknown) => (typeof v === 'number' ? ` score ${v.toFixed(2)}` : '')
const short = (s: string, n = 100) => (s.length > n ? `${s.slice(0, n - 1)}…` : s)

/** One line of the timeline, or null for events a person does not follow (heartbeats, usage). */
export function eventLine(e: TimelineEvent, p: Paint): string | null {
  const d = e.data ?? {}
  const what = ((): string | null => {
    switch (e.type) {
      case 'spec.execution_started':
        return p.bold('launched')
      case 'spec.phase_started':
        return `${p.cyan(str(d.phase))} started (attempt ${str(d.attempt)})`
      case 'spec.phase_completed':
        return `${p.cyan(str(d.phase))} ${p.green('accepted')}${score(d.eval_score)}`
      case 'spec.phase_retry':
        return `${p.cyan(str(d.phase))} ${p.yellow('rejected')}${score(d.eval_score)}: ${short(str(d.feedback))}`
      case 'spec.phase_failed':
        return `${p.cyan(str(d.phase))} ${p.red('failed')}: ${short(str(d.error ?? d.feedback))}`
      case 'spec.awaiting_approval':
        return p.yellow(`${str(d.phase)} awaits your approval (omoi approve <spec> --phase ${str(d.phase)})`)
      case 'spec.approved':
        return `${str(d.phase)} approved`
      case 'spec.revision_requested':
        return `${str(d.phase)} to be revised: ${short(str(d.feedback))}`
      case 'spec.paused':
      case 'spec.resumed':
      case 'spec.retried':
        return e.type.slice(5)
      case 'spec.tasks_queued':
        return `tasks queued`
      case 'spec.task_started':
        return `${p.cyan(str(d.task_id))} started`
      case 'spec.task_completed':
        return `${p.cyan(str(d.task_id))} ${p.green('completed')}`
      case 'spec.task_failed':
        return `${p.cyan(str(d.task_id))} ${p.red('failed')}: ${short(str(d.error))}`
      case 'spec.task_blocked':
        return `${p.cyan(str(d.task_id))} blocked`
      case 'spec.budget_exceeded':
        return p.red(`budget exceeded: $${str(d.cost_usd)} of $${str(d.budget_usd)}`)
      case 'spec.execution_completed':
        return p.green(p.bold('completed'))
      case 'spec.execution_failed':
        return p.red(p.bold(`failed: ${short(str(d.error))}`))
      case 'spec.cancelled':
        return p.red('cancelled')
      case 'agent.tool_use':
        return p.dim(`agent: ${str(d.tool)}`)
      case 'agent.message':
        return p.dim(`agent: ${short(str(d.text).replace(/\s+/g, ' '))}`)
      case 'agent.error':
        return p.red(`agent error: ${short(str(d.error))}`)
      case 'agent.waiting':
        return p.yellow(`waiting for the model: ${str(d.reason)}, retry in ${Math.round(Number(d.retry_in_ms ?? 0) / 1000)} s`)
      case 'user.message':
        return `${str(d.by_name) || 'someone'}: ${short(str(d.text))}`
      default:
        return null
    }
  })()
  if (what === null) return null
  const time = e.created_at ? e.created_at.slice(11, 19) : ''
  return `${p.dim(`${time} #${e.seq}`)}  ${what}`
}

const PHASE_MARK: Record<string, string> = { completed: '✓', running: '●', failed: '✗', awaiting_approval: '?' }

/** `explore ✓ → requirements ● → design → …  executing`: the spec's phases at a glance. */
export function progressLine(spec: SpecView, p: Paint): string {
  const phases = (spec.phases ?? []).map((ph) => {
    const mark = PHASE_MARK[ph.status]
    const name = ph.status === 'completed' ? p.green(ph.phase) : ph.status === 'failed' ? p.red(ph.phase) : ph.phase === spec.current_phase ? p.bold(ph.phase) : p.dim(ph.phase)
    return mark ? `${name} ${mark}` : name
  })
  return `${phases.join(p.dim(' → '))}  [${spec.status}]`
}
