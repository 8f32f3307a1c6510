import { AppError } from '../errors.ts'
import type { Config } from '../config.ts'
import type { Sql } from '../db/connect.ts'
import { loadArtifacts } from '../db/artifacts.ts'
import { hashToken } from '../ids.ts'
import { pendingUserMessages } from '../db/messages.ts'
import { findSandbox, touchHeartbeat, type SandboxRow } from '../db/sandboxes.ts'
import { addUsage, findSpec } from '../db/specs.ts'
import { findTaskOfSpec } from '../db/tickets.ts'
import type { Assignment } from '../schemas/assignment.ts'
import type { IngestEvents, InjectedMessage, ResultVerdict, SandboxResult } from '../schemas/events.ts'
import type { AgentPhase, Design, Requirements, Tasks } from '../schemas/phase-outputs.ts'
import { SUBMIT_TOOLS } from '../schemas/phase-outputs.ts'
import { phaseSubmitTool, taskSubmitTool, WORKSPACE_TOOLS } from '../schemas/tools.ts'
import { budgetRefusal, budgetSpent } from './budget.ts'
import { evaluatePhase } from './evaluators.ts'
import { evaluateTask } from './task-evaluator.ts'
import { parseRef } from './sync-plan.ts'
import type { SpecHost } from './host.ts'
import type { SpecRouter } from './router.ts'
import { priceUsage, type ModelUsage } from './pricing.ts'
import { taskBranch } from './sandbox-setup.ts'
import { MAX_SUBMISSIONS } from './scheduler.ts'
import { head } from '../schemas/text.ts'

/** What a merge fix-up run is told: its workspace holds the merge with conflict markers. */
const fixupBrief = (branch: string, files: string[]) =>
  `Your accepted work conflicted when it was merged into the spec branch ${branch}. The workspace holds that merge with ` +
  `git conflict markers in ${files.join(', ')}. Resolve every conflict so that both sides' changes are kept, make the ` +
  `check pass, then call complete_task. It is rejected while conflict markers remain.`

/** Events posted just after the sandbox was ended (the worker's last words) are still taken for this long. */
const EVENTS_GRACE_MS = 15_000
/**
 * An event post's token check is answered from memory for this long after the sandbox row was read: well inside the
 * grace above, so a sandbox ended meanwhile would have had its events taken anyway.
 */
export const INGEST_AUTH_CACHE_MS = 1_000
/** The most sandboxes whose check is remembered (a node runs a few dozen at once); past it the memory starts over. */
const INGEST_AUTH_CACHE_SIZE = 1_000
const PRIOR_OF: Record<AgentPhase, AgentPhase[]> = {
  explore: [],
  requirements: ['explore'],
  design: ['explore', 'requirements'],
  tasks: ['explore', 'requirements', 'design'],
}

// 503, so the worker retries: the server may be starting (actors not restored yet) or the actor moving between nodes
const notRunningHere = () => new AppError('unavailable', 'The spec is not running on this server right now; retry shortly.')
const unauthenticated = () => new AppError('unauthenticated', 'This sandbox token is not valid (wrong, or its sandbox has ended).')

/**
 * The server side of the sandbox callback API (CONTRACT §7): token checks, the assignment, event ingest with usage
 * pricing and budget, results evaluated by the server's evaluator through the spec's actor, and user messages.
 */
export class SandboxApi {
  /** Event posts' token checks (by sandbox id) and heartbeat writes, remembered briefly: see ingest(). */
  private checked = new Map<string, { row: SandboxRow; at: number }>()
  private heartbeats = new Map<string, number>()

  constructor(
    private readonly sql: Sql,
    private readonly host: SpecHost,
    private readonly config: Config,
    private readonly router: SpecRouter,
  ) {}

  /** A sandbox as the node serving a forwarded call sees it (the receiving node already checked its token). */
  async sandbox(sandboxId: string): Promise<SandboxRow> {
    const row = await findSandbox(this.sql, sandboxId)
    if (!row) throw unauthenticated()
    return row
  }

  /** Makes the spec's actor live here when nobody runs it (a dead node's spec is claimed and restored first). */
  private async ensureLive(specId: string): Promise<void> {
    if (this.host.has(specId)) return
    const spec = await findSpec(this.sql, specId)
    if (spec) await this.host.ensure(spec)
  }

  /** The sandbox this token belongs to, alive (or, for events, ended a moment ago); 401 otherwise. */
  async authenticate(sandboxId: string, token: string | null, options: { grace?: boolean } = {}): Promise<SandboxRow> {
    if (!token) throw unauthenticated()
    const row = await findSandbox(this.sql, sandboxId)
    if (!row || row.token_hash !== hashToken(token)) throw unauthenticated()
    if (row.status === 'ended') {
      const recently = options.grace && row.ended_at && Date.now() - row.ended_at.getTime() < EVENTS_GRACE_MS
      if (!recently) throw unauthenticated()
    }
    return row
  }

  /** The assignment, from whichever node runs the spec (CONTRACT §7). */
  assignment(row: SandboxRow): Promise<Assignment> {
    return this.router.run({ kind: 'assignment', specId: row.spec_id, sandboxId: row.id }, () => this.assignmentHere(row))
  }

  async assignmentHere(row: SandboxRow): Promise<Assignment> {
    await this.ensureLive(row.spec_id)
    // the answer is drawn from this node's copy alone: a stale one (its lease taken over) hands the call to the owner
    await this.host.confirmClaim(row.spec_id)
    const spec = (await findSpec(this.sql, row.spec_id))!
    const ctx = this.host.context(spec.id)
    if (!ctx) throw notRunningHere()
    const common = {
      sandbox_id: row.id,
      spec: { id: spec.id, title: spec.title, description: spec.description },
      attempt: row.attempt,
      max_submissions: MAX_SUBMISSIONS,
      model: this.config.model.name,
      model_limits: { context_window: this.config.model.info.context_window, max_output: this.config.model.info.max_output },
    }
    if (row.kind === 'phase') {
      const phase = row.phase as AgentPhase
      const p = ctx.phases[phase]
      return {
        ...common,
        kind: 'phase',
        phase,
        submissions_used: p.submissions,
        context: {
          prior: Object.fromEntries(PRIOR_OF[phase].map((k) => [k, ctx.outputs[k]])),
          feedback: ctx.feedback[phase] ?? [],
        },
        tools: [...WORKSPACE_TOOLS, phaseSubmitTool(phase)],
        submit_tool: SUBMIT_TOOLS[phase],
        deadline: p.deadline ?? new Date(Date.now() + this.config.phaseTimeoutMs).toISOString(),
      }
    }
    const task = ctx.tasks[row.task_id!]
    if (!task) throw new AppError('not_found', `Task ${row.task_id} is not part of this spec.`)
    const artifacts = await loadArtifacts(this.sql, spec.id)
    const plan = (artifacts.tasks as Tasks | null) ?? { tickets: [], tasks: [] }
    const stored = await findTaskOfSpec(this.sql, spec.id, task.key)
    if (!stored) throw new AppError('not_found', `Task ${task.key} is not stored for this spec.`)
    // A task may cite whole requirements (REQ-001) or single criteria (REQ-001.2): either way the agent gets the requirement.
    const requirements = ((artifacts.requirements as Requirements | null)?.requirements ?? []).filter((r) =>
      stored.requirements.some((ref) => parseRef(ref).requirement === r.id),
    )
    const ticketPlan = plan.tickets.find((t) => t.id === task.ticket) ?? {
      id: task.ticket,
      title: spec.title,
      description: spec.description,
      priority: 'medium' as const,
      requirements: [],
    }
    return {
      ...common,
      kind: 'task',
      task: {
        id: task.key,
        ticket: task.ticket,
        title: stored.title,
        description: stored.description,
        depends_on: task.depends_on,
        requirements: stored.requirements,
        files: stored.files,
        estimate_hours: stored.estimate_hours ?? 0,
        ...(task.stage === 'fixup' ? { files: task.conflicts ?? [] } : {}),
        branch: taskBranch(spec.id, task.key),
        base_branches: [],
        base_branch: (task.stage === 'fixup' ? task.mergeBranch : ctx.delivery?.branch) ?? spec.id,
        check_command: ctx.delivery?.checkCommand ?? null,
      },
      submissions_used: task.submissions,
      context: {
        ticket: ticketPlan,
        requirements,
        design: (artifacts.design as Design | null) ?? null,
        dependencies: task.depends_on.map((d) => ({
          id: d,
          title: ctx.tasks[d]?.title ?? d,
          result: (ctx.tasks[d]?.result ?? null) as never,
        })),
        feedback: [
          ...(task.error ? [`The previous attempt failed: ${task.error}`] : []),
          ...(task.stage === 'fixup' ? [task.fixupReason ?? fixupBrief(ctx.delivery?.branch ?? '', task.conflicts ?? [])] : []),
        ],
      },
      tools: [...WORKSPACE_TOOLS, taskSubmitTool()],
      submit_tool: 'complete_task',
      deadline: task.deadline ?? new Date(Date.now() + this.config.phaseTimeoutMs).toISOString(),
    }
  }

  /**
   * `authenticate` with the events' grace, for event posts: a worker posts every 250 ms, so the sandbox row read for
   * its token check is reused for INGEST_AUTH_CACHE_MS (the token is still compared on every call).
   */
  async authenticateEvents(sandboxId: string, token: string | null): Promise<SandboxRow> {
    const hit = this.checked.get(sandboxId)
    if (token && hit && Date.now() - hit.at < INGEST_AUTH_CACHE_MS && hit.row.token_hash === hashToken(token)) return hit.row
    const row = await this.authenticate(sandboxId, token, { grace: true })
    // an ended sandbox's grace runs out: its token is read afresh every time
    if (row.status === 'ended') return row
    if (this.checked.size >= INGEST_AUTH_CACHE_SIZE) this.checked.clear()
    this.checked.set(sandboxId, { row, at: Date.now() })
    return row
  }

  /**
   * Stores agent events once each (by id); any call of a sandbox counts as its heartbeat. Appends to one spec that
   * arrive together share one statement (the host's group commit); the heartbeat is written at most once per tenth of
   * the silence limit (and per second), which is all the silence check can tell apart.
   */
  async ingest(row: SandboxRow, body: IngestEvents): Promise<{ accepted: number; duplicates: number }> {
    const answer = await this.router.run({ kind: 'ingest', specId: row.spec_id, sandboxId: row.id, body }, () => this.ingestHere(row, body))
    await this.heartbeat(row)
    return answer
  }

  private async heartbeat(row: SandboxRow): Promise<void> {
    const beatEvery = Math.min(1_000, this.config.silenceMs / 10)
    const last = this.heartbeats.get(row.id)
    if (last !== undefined && Date.now() - last < beatEvery) return
    if (this.heartbeats.size >= INGEST_AUTH_CACHE_SIZE) this.heartbeats.clear()
    this.heartbeats.set(row.id, Date.now())
    await touchHeartbeat(this.sql, row.id)
  }

  async ingestHere(row: SandboxRow, body: IngestEvents): Promise<{ accepted: number; duplicates: number }> {
    if (row.status !== 'ended') await this.ensureLive(row.spec_id)
    const { written, duplicates } = await this.host.appendEvents(
      row.spec_id,
      body.events.map((e) => ({ id: e.id, type: e.type, data: e.data, source: 'agent' as const, sandbox_id: row.id })),
    )
    return { accepted: written.length, duplicates }
  }

  /**
   * Prices a model call made through the server's proxy into the spec's cost and tokens (the proxy sees every call,
   * so this is the count the budget trusts), and pauses the spec once its budget is spent (budget.ts). A cancelled
   * spec is not charged.
   */
  async recordUsage(row: SandboxRow, usage: ModelUsage): Promise<void> {
    const cacheRead = usage.cache_read_input_tokens ?? 0
    const cacheWrite = usage.cache_creation_input_tokens ?? 0
    if (usage.input_tokens + usage.output_tokens + cacheRead + cacheWrite === 0) return
    const totals = await addUsage(this.sql, row.spec_id, {
      input_tokens: usage.input_tokens,
      output_tokens: usage.output_tokens,
      cache_read_tokens: cacheRead,
      cache_write_tokens: cacheWrite,
      cost_usd: priceUsage(this.config.model.info, usage),
    })
    if (!totals) return
    if (budgetSpent(totals)) await this.pauseForBudget(row.spec_id, totals)
    await this.host.publishSpec(row.spec_id)
  }

  /** Pauses the spec by budget (BUDGET_EXCEEDED), on whichever node runs it; answers once that pause is stored. */
  private async pauseForBudget(specId: string, spend: { cost_usd: number; budget_usd: number }): Promise<void> {
    const call = { kind: 'budget' as const, specId, cost_usd: spend.cost_usd, budget_usd: spend.budget_usd }
    await this.router.run(call, () => this.budgetHere(call))
  }

  /** Pauses the spec over budget, on the node that runs it. */
  async budgetHere(over: { specId: string; cost_usd: number; budget_usd: number }): Promise<void> {
    await this.ensureLive(over.specId)
    const event = { type: 'BUDGET_EXCEEDED' as const, cost_usd: over.cost_usd, budget_usd: over.budget_usd }
    if (this.host.can(over.specId, event)) await this.host.send(over.specId, event)
    else await this.host.confirmClaim(over.specId) // not skipped for good because a stale copy could not take it
  }

  /**
   * Refuses a model call (402 `budget_exceeded`) once the spec's budget is spent: the proxy asks before it forwards
   * anything. The spec is paused by budget first (as recordUsage does), so the worker's stop on the 402 ends a sandbox
   * the spec no longer runs, and is never taken for a lost one (which would be replaced, and fail the phase).
   */
  async checkBudget(row: SandboxRow): Promise<void> {
    const spec = await findSpec(this.sql, row.spec_id)
    if (!spec || !budgetSpent(spec)) return
    await this.pauseForBudget(spec.id, spec)
    throw budgetRefusal(spec, 'call the model')
  }

  /** Whether this sandbox still runs (a model call of an ended sandbox is dropped). */
  async isLive(row: SandboxRow): Promise<boolean> {
    const now = await findSandbox(this.sql, row.id)
    return !!now && now.status !== 'ended'
  }

  /** Evaluates a submission (the only evaluator is the server's) and hands the verdict to the spec's actor. */
  result(row: SandboxRow, body: SandboxResult): Promise<ResultVerdict> {
    return this.router.run({ kind: 'result', specId: row.spec_id, sandboxId: row.id, body }, () => this.resultHere(row, body))
  }

  async resultHere(row: SandboxRow, body: SandboxResult): Promise<ResultVerdict> {
    await this.ensureLive(row.spec_id)
    const ctx = this.host.context(row.spec_id)
    if (!ctx) throw notRunningHere()
    const failed = body.outcome === 'failed'
    const error = head(body.error ?? '', 2000) || 'the agent gave up without an error message'
    let verdict = { accepted: false, score: 0, feedback: failed ? `The agent failed: ${error}` : '' }
    if (row.kind === 'phase') {
      const phase = row.phase as AgentPhase
      if (!failed) verdict = evaluatePhase(phase, body.output, ctx.outputs)
      await this.host.send(
        row.spec_id,
        failed
          ? { type: 'AGENT_FAILED', phase, attempt: row.attempt, error }
          : { type: 'SUBMISSION', phase, attempt: row.attempt, resultId: body.id, verdict, output: body.output },
      )
    } else {
      const key = row.task_id!
      if (!failed) verdict = evaluateTask(body.output, { id: key, title: ctx.tasks[key]?.title ?? key })
      await this.host.send(
        row.spec_id,
        failed
          ? { type: 'TASK_AGENT_FAILED', task: key, attempt: row.attempt, error }
          : { type: 'TASK_SUBMISSION', task: key, attempt: row.attempt, resultId: body.id, verdict, output: body.output },
      )
    }
    await this.sql`
      insert into phase_results (id, spec_id, sandbox_id, phase, task_id, attempt, outcome, output, error, score, accepted, feedback, usage)
      values (${body.id}, ${row.spec_id}, ${row.id}, ${row.phase ?? 'execute'}, ${row.task_id}, ${row.attempt}, ${body.outcome},
              ${body.output === undefined ? null : this.sql.json(body.output as never)}, ${failed ? error : null}, ${verdict.score},
              ${verdict.accepted}, ${verdict.feedback}, ${this.sql.json(body.usage)})
      on conflict (id) do nothing`
    return { ...verdict, attempt: row.attempt, done: failed || verdict.accepted || !this.stillWorking(row) }
  }

  /** Whether this sandbox's phase or task attempt still takes submissions. */
  private stillWorking(row: SandboxRow): boolean {
    const ctx = this.host.context(row.spec_id)
    if (!ctx) return false
    if (row.kind === 'phase') {
      const p = ctx.phases[row.phase as AgentPhase]
      return p.status === 'running' && p.attempt === row.attempt && p.submissions < MAX_SUBMISSIONS
    }
    const t = ctx.tasks[row.task_id!]
    return !!t && t.status === 'running' && t.attempt === row.attempt
  }

  async messages(row: SandboxRow, after: number | undefined): Promise<{ messages: InjectedMessage[] }> {
    await touchHeartbeat(this.sql, row.id)
    const events = await pendingUserMessages(this.sql, row.spec_id, after)
    return {
      messages: events.map((e) => ({ seq: e.seq, text: String(e.data.text ?? ''), by: String(e.data.by_name ?? e.data.by ?? ''), created_at: e.created_at })),
    }
  }
}
