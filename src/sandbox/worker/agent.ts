import type Anthropic from '@anthropic-ai/sdk'
import type { Assignment } from '../../schemas/assignment.ts'
import type { InjectedMessage, Usage } from '../../schemas/events.ts'
import { CallbackError, SandboxEndedError, type CallbackClient } from './callback.ts'
import { cachedRequest, cleanAssistantContent, conversationTokens, estimateTokens, fitToWindow } from './conversation.ts'
import type { EventQueue } from './events.ts'
import { completeTask } from './complete-task.ts'
import { errorMessage, log } from './log.ts'
import { BudgetSpentError, callModel, ContextOverflow, ModelFailure } from './model-call.ts'
import { firstMessage, systemPrompt } from './prompt.ts'
import type { ToolOutcome } from './tools.ts'
import { head } from '../../schemas/text.ts'

const MAX_TURNS = 60
const MAX_NUDGES = 3
/** The first output budget of a turn; a turn cut off in a tool call is asked again with more, up to the model's maximum. */
const FIRST_MAX_TOKENS = 8_192
const SECOND_MAX_TOKENS = 32_000
const SUMMARY_CAP = 500
/** When the API finds the conversation longer than estimated, the estimate may fill this share of what was sent. */
const SHRINK = 0.75
/** Stop reasons of an answer cut off before its end: a tool call in it may be half written. */
const CUT_OFF: ReadonlySet<string | null> = new Set(['max_tokens', 'model_context_window_exceeded'])
const INPUT_STRING_CAP = 2_000

type UserTurn = { role: 'user'; content: Anthropic.ContentBlockParam[] }

export interface ModelLimits {
  context_window: number
  max_output: number
}

export interface AgentDeps {
  assignment: Assignment
  model: Anthropic
  modelName: string
  limits: ModelLimits
  /** The model is reached through the server's proxy (a 401 there means this sandbox has ended). */
  viaProxy: boolean
  /** Aborted when the worker must stop at once (the server ended the sandbox). */
  signal: AbortSignal
  client: CallbackClient
  events: EventQueue
  workspace: { root: string; run(name: string, input: unknown): Promise<ToolOutcome> }
  /** Messages people sent since the last call; each is handed over once. */
  takeMessages(): InjectedMessage[]
}

/** Long strings (a file written, a big plan) are shortened in events; the model still gets the whole input. */
function truncateStrings(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.length > INPUT_STRING_CAP ? `${head(value, INPUT_STRING_CAP)}… (${value.length - INPUT_STRING_CAP} more chars)` : value
  }
  if (Array.isArray(value)) return value.map(truncateStrings)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, truncateStrings(v)]))
  }
  return value
}

/** The output budgets a turn may be asked with, smallest first. */
export function outputBudgets(maxOutput: number): number[] {
  return [...new Set([FIRST_MAX_TOKENS, SECOND_MAX_TOKENS, maxOutput].map((n) => Math.min(n, maxOutput)))].sort((a, b) => a - b)
}

/** Whether an answer was cut off inside a tool call (a truncated call is never run). */
function cutInToolCall(response: Anthropic.Message): boolean {
  return CUT_OFF.has(response.stop_reason) && response.content.some((b) => b.type === 'tool_use')
}

function refusalText(response: Anthropic.Message): string {
  const details = response.stop_details?.explanation
  const said = response.content.flatMap((b) => (b.type === 'text' && b.text.trim() ? [b.text.trim()] : [])).join(' ')
  return details || said || 'no reason given'
}

/** One conversation with the model, from the first turn until the server's verdict says it is done. */
class AgentRun {
  private readonly usage: Usage = { input_tokens: 0, output_tokens: 0 }
  private readonly messages: Anthropic.MessageParam[] = []
  private readonly a: Assignment
  private readonly system: string
  private readonly budgets: number[]
  /** The share of the model's context window the estimated conversation may fill; shrinks when the API says it is full. */
  private windowShare = 1

  constructor(private readonly d: AgentDeps) {
    this.a = d.assignment
    this.system = systemPrompt(d.assignment)
    this.budgets = outputBudgets(d.limits.max_output)
  }

  async run(): Promise<void> {
    const { a, d } = this
    d.events.push('agent.started', a.kind === 'phase' ? { phase: a.phase, model: d.modelName } : { task_id: a.task.id, model: d.modelName })
    let next: UserTurn = { role: 'user', content: [{ type: 'text', text: firstMessage(a) }] }
    let nudges = 0
    for (let turn = 0; turn < MAX_TURNS; turn++) {
      if (Date.now() > Date.parse(a.deadline)) return this.fail('the deadline passed before the work was submitted')
      this.addInjectedMessages(next)
      this.messages.push(next)
      let response: Anthropic.Message
      try {
        response = await this.ask(next)
      } catch (err) {
        if (err instanceof BudgetSpentError) return this.stopForBudget()
        if (err instanceof ModelFailure) return this.fail(err.message)
        throw err
      }
      if (response.stop_reason === 'refusal') return this.fail(`the model refused to continue: ${refusalText(response)}`)
      const calls = this.record(response)
      if (calls.length === 0) {
        if (++nudges > MAX_NUDGES) return this.fail(`the model stopped ${nudges} times without calling ${a.submit_tool}`)
        next = { role: 'user', content: [{ type: 'text', text: `You must call ${a.submit_tool} to finish.` }] }
        continue
      }
      const { results, verdict } = await this.runCalls(calls)
      if (verdict.done) {
        d.events.push('agent.completed', { accepted: verdict.accepted })
        return
      }
      next = { role: 'user', content: results }
    }
    return this.fail(`gave up after ${MAX_TURNS} model turns without an accepted submission`)
  }

  /**
   * One turn, asked again with a larger output budget while the answer is cut off inside a tool call (a truncated
   * call is never run). At the model's maximum the model is told, in the same turn, to split or shorten the work.
   */
  private async ask(turn: UserTurn): Promise<Anthropic.Message> {
    let response!: Anthropic.Message
    for (const maxTokens of this.budgets) {
      response = await this.sendFitting(maxTokens)
      if (!cutInToolCall(response)) return response
      this.countUsage(response.usage)
      log.warn('answer cut off in a tool call', { max_tokens: maxTokens })
    }
    const limit = this.budgets.at(-1)!
    const error = `the model's answer was cut off at its output limit (${limit} tokens) inside a tool call; nothing of it was run`
    this.d.events.push('agent.error', { error })
    turn.content.push({
      type: 'text',
      text:
        `Your last answer was cut off at the output limit (${limit} tokens) in the middle of a tool call, so nothing of it ` +
        'was run. Split the work into smaller steps (for example write a large file in parts with edit_file) or shorten it.',
    })
    return this.sendFitting(limit)
  }

  /**
   * send(), and again with less of the conversation while the API finds it longer than estimated: a 400 "prompt is too
   * long", or an answer stopped by `model_context_window_exceeded` (billed, not kept). Each time the estimate may fill
   * only SHRINK of what was sent, and older tool results are stubbed to fit; once nothing is left to stub, the refusal
   * (thrown, a ContextOverflow) or the stopped answer stands.
   */
  private async sendFitting(maxTokens: number): Promise<Anthropic.Message> {
    for (;;) {
      let response: Anthropic.Message
      try {
        response = await this.send(maxTokens)
      } catch (err) {
        if (err instanceof ContextOverflow && this.shrinkWindow(maxTokens)) continue
        throw err
      }
      if (response.stop_reason !== 'model_context_window_exceeded' || !this.shrinkWindow(maxTokens)) return response
      this.countUsage(response.usage)
    }
  }

  /** The window holds less than estimated: from now on fill at most SHRINK of what was sent. False: nothing to stub. */
  private shrinkWindow(maxTokens: number): boolean {
    const sent = this.fixedTokens() + conversationTokens(this.messages) + maxTokens
    this.windowShare = Math.min(this.windowShare, (sent * SHRINK) / this.d.limits.context_window)
    const stubbed = fitToWindow(this.messages, this.fixedTokens(), this.inputBudget(maxTokens))
    log.warn('the conversation outgrew the context window', { stubbed, window_share: this.windowShare })
    return stubbed > 0
  }

  /** Tokens of the system prompt and the tools, sent with every turn. */
  private fixedTokens(): number {
    return estimateTokens(this.system) + estimateTokens(this.a.tools)
  }

  /** The estimated tokens the conversation may take beside an answer of up to `maxTokens`. */
  private inputBudget(maxTokens: number): number {
    return Math.max(0, Math.floor(this.d.limits.context_window * this.windowShare) - maxTokens)
  }

  private send(maxTokens: number): Promise<Anthropic.Message> {
    const { a, d } = this
    const tools = a.tools as Anthropic.Tool[]
    const stubbed = fitToWindow(this.messages, this.fixedTokens(), this.inputBudget(maxTokens))
    if (stubbed > 0) log.info('old tool results stubbed to fit the context window', { stubbed })
    return callModel(
      { model: d.model, events: d.events, deadline: Date.parse(a.deadline), viaProxy: d.viaProxy, signal: d.signal },
      { model: d.modelName, max_tokens: maxTokens, ...cachedRequest({ system: this.system, tools, messages: this.messages }) },
    )
  }

  /** Adds the model's answer to the conversation and the event log; answers its tool calls. */
  private record(response: Anthropic.Message): Anthropic.ToolUseBlockParam[] {
    this.countUsage(response.usage)
    // an answer cut off at the output limit or the window may end in a half-written tool call: none of its calls is run
    const truncated = CUT_OFF.has(response.stop_reason)
    const content = cleanAssistantContent(response.content).filter((b) => !(truncated && b.type === 'tool_use'))
    for (const block of content) if (block.type === 'text') this.d.events.push('agent.message', { text: block.text })
    const calls = content.filter((b): b is Anthropic.ToolUseBlockParam => b.type === 'tool_use')
    this.messages.push({ role: 'assistant', content: content.length > 0 ? content : [{ type: 'text', text: '(no answer)' }] })
    return calls
  }

  /** Runs the tool calls of one answer in order; a submission the server calls done ends the run. */
  private async runCalls(calls: Anthropic.ToolUseBlockParam[]) {
    const results: Anthropic.ToolResultBlockParam[] = []
    let verdict = { done: false, accepted: false }
    for (const call of calls) {
      this.d.events.push('agent.tool_use', { tool: call.name, input: truncateStrings(call.input) })
      let outcome: ToolOutcome
      if (verdict.done) {
        outcome = { ok: false, text: 'not run: the work is finished' }
      } else if (call.name === this.a.submit_tool) {
        const submitted = await this.submit(call.input)
        outcome = submitted.outcome
        verdict = { done: submitted.done, accepted: submitted.outcome.ok }
      } else {
        outcome = await this.d.workspace.run(call.name, call.input)
      }
      this.d.events.push('agent.tool_result', { tool: call.name, ok: outcome.ok, summary: head(outcome.text, SUMMARY_CAP) })
      results.push({ type: 'tool_result', tool_use_id: call.id, content: outcome.text, is_error: !outcome.ok })
    }
    return { results, verdict }
  }

  private addInjectedMessages(turn: UserTurn): void {
    for (const message of this.d.takeMessages()) {
      turn.content.push({ type: 'text', text: `A person following this work sends you a message:\n${message.text}` })
      this.d.events.push('agent.message_injected', { text: message.text, message_seq: message.seq })
    }
  }

  private countUsage(usage: Anthropic.Usage): void {
    const counted = {
      input_tokens: usage.input_tokens ?? 0,
      output_tokens: usage.output_tokens ?? 0,
      cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
      cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
    }
    this.usage.input_tokens += counted.input_tokens + counted.cache_read_input_tokens + counted.cache_creation_input_tokens
    this.usage.output_tokens += counted.output_tokens
    this.d.events.push('agent.usage', counted)
  }

  /** Posts a submit-tool call as a result; the verdict's feedback, as the server wrote it, is what the model reads. */
  private async submit(input: unknown): Promise<{ outcome: ToolOutcome; done: boolean }> {
    const { a, d } = this
    let output = input
    if (a.kind === 'task') {
      try {
        output = await completeTask(d.workspace.root, a.task, input)
      } catch (err) {
        const error = `could not save the work to branch ${a.task.branch}: ${errorMessage(err)}`
        d.events.push('agent.error', { error })
        return { outcome: { ok: false, text: `${error}\nFix the problem and call ${a.submit_tool} again.` }, done: false }
      }
    }
    try {
      await d.events.flush()
      const verdict = await d.client.postResult({ outcome: 'submitted', output, usage: this.usage })
      const text = verdict.feedback.trim() || (verdict.accepted ? 'Accepted.' : 'Rejected.')
      return { outcome: { ok: verdict.accepted, text }, done: verdict.done }
    } catch (err) {
      if (!(err instanceof CallbackError)) throw err
      d.events.push('agent.error', { error: `the server did not take the submission: ${err.message}` })
      // No status: the deadline passed while retrying, so there is no point in going on.
      return { outcome: { ok: false, text: `The submission could not be delivered: ${err.message}` }, done: err.status === null }
    }
  }

  /** The spec's budget is spent: the server pauses the spec; this is a stop, not a failure of the work. */
  private stopForBudget(): void {
    log.info('the spec budget is spent; stopping')
    this.d.events.push('agent.completed', { accepted: false, stopped: 'budget_exceeded' })
  }

  /** Reports the failure once (an agent.error, then a failed result) and ends the run. */
  private async fail(error: string): Promise<void> {
    const { d } = this
    log.error('agent failed', { error })
    d.events.push('agent.error', { error })
    try {
      await d.events.flush()
      await d.client.postResult({ outcome: 'failed', error, usage: this.usage })
    } catch (err) {
      if (!(err instanceof CallbackError) && !(err instanceof SandboxEndedError)) throw err
      log.error('could not post the failed result', { error: err.message })
    }
    d.events.push('agent.completed', { accepted: false })
  }
}

/** Runs the model loop of CONTRACT §8 until the work is accepted, or has failed and that is reported. */
export function runAgent(deps: AgentDeps): Promise<void> {
  return new AgentRun(deps).run()
}
