import Anthropic from '@anthropic-ai/sdk'
import type { Assignment } from '../../schemas/assignment.ts'
import type { InjectedMessage, Usage } from '../../schemas/events.ts'
import { CallbackError, type CallbackClient } from './callback.ts'
import type { EventQueue } from './events.ts'
import { completeTask } from './complete-task.ts'
import { errorMessage, log } from './log.ts'
import { firstMessage, systemPrompt } from './prompt.ts'
import type { ToolOutcome } from './tools.ts'

const MAX_TURNS = 60
const MAX_NUDGES = 3
const MAX_TOKENS = 8_192
const SUMMARY_CAP = 500
const INPUT_STRING_CAP = 2_000

type UserTurn = { role: 'user'; content: Anthropic.ContentBlockParam[] }

export interface AgentDeps {
  assignment: Assignment
  model: Anthropic
  modelName: string
  client: CallbackClient
  events: EventQueue
  workspace: { root: string; run(name: string, input: unknown): Promise<ToolOutcome> }
  /** Messages people sent since the last call; each is handed over once. */
  takeMessages(): InjectedMessage[]
}

/** Long strings (a file written, a big plan) are shortened in events; the model still gets the whole input. */
function truncateStrings(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.length > INPUT_STRING_CAP ? `${value.slice(0, INPUT_STRING_CAP)}… (${value.length - INPUT_STRING_CAP} more chars)` : value
  }
  if (Array.isArray(value)) return value.map(truncateStrings)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, truncateStrings(v)]))
  }
  return value
}

function modelErrorText(err: unknown): string {
  if (err instanceof Anthropic.AuthenticationError) return `the model API rejected the API key (401): ${err.message}`
  if (err instanceof Anthropic.PermissionDeniedError) return `the model API refused this API key access (403): ${err.message}`
  if (err instanceof Anthropic.BadRequestError) return `the model API rejected the request (400): ${err.message}`
  if (err instanceof Anthropic.APIConnectionError) return `the model API could not be reached: ${err.message}`
  if (err instanceof Anthropic.APIError) return `the model API kept failing (${err.status}): ${err.message}`
  return `the model call failed: ${errorMessage(err)}`
}

/** One conversation with the model, from the first turn until the server's verdict says it is done. */
class AgentRun {
  private readonly usage: Usage = { input_tokens: 0, output_tokens: 0 }
  private readonly messages: Anthropic.MessageParam[] = []
  private readonly a: Assignment
  private readonly system: string

  constructor(private readonly d: AgentDeps) {
    this.a = d.assignment
    this.system = systemPrompt(d.assignment)
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
        response = await d.model.messages.create({
          model: d.modelName,
          max_tokens: MAX_TOKENS,
          system: this.system,
          tools: a.tools,
          messages: this.messages,
        })
      } catch (err) {
        return this.fail(modelErrorText(err))
      }
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

  /** Adds the model's answer to the conversation and the event log; answers its tool calls. */
  private record(response: Anthropic.Message): Anthropic.ToolUseBlockParam[] {
    this.countUsage(response.usage)
    const content: Anthropic.ContentBlockParam[] = []
    const calls: Anthropic.ToolUseBlockParam[] = []
    for (const block of response.content) {
      if (block.type === 'text') {
        content.push({ type: 'text', text: block.text })
        if (block.text.trim()) this.d.events.push('agent.message', { text: block.text })
      } else if (block.type === 'tool_use') {
        const call = { type: 'tool_use' as const, id: block.id, name: block.name, input: block.input }
        content.push(call)
        calls.push(call)
      }
    }
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
      this.d.events.push('agent.tool_result', { tool: call.name, ok: outcome.ok, summary: outcome.text.slice(0, SUMMARY_CAP) })
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
    const counted = { input_tokens: usage.input_tokens ?? 0, output_tokens: usage.output_tokens ?? 0 }
    this.usage.input_tokens += counted.input_tokens
    this.usage.output_tokens += counted.output_tokens
    this.d.events.push('agent.usage', counted)
  }

  /** Posts a submit-tool call as a result; the verdict's feedback is what the model reads. */
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
      const head = verdict.accepted ? `Accepted (score ${verdict.score}).` : `Rejected (score ${verdict.score}).`
      return { outcome: { ok: verdict.accepted, text: `${head} ${verdict.feedback}`.trim() }, done: verdict.done }
    } catch (err) {
      if (!(err instanceof CallbackError)) throw err
      d.events.push('agent.error', { error: `the server did not take the submission: ${err.message}` })
      // No status: the deadline passed while retrying, so there is no point in going on.
      return { outcome: { ok: false, text: `The submission could not be delivered: ${err.message}` }, done: err.status === null }
    }
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
      if (!(err instanceof CallbackError)) throw err
      log.error('could not post the failed result', { error: err.message })
    }
    d.events.push('agent.completed', { accepted: false })
  }
}

/** Runs the model loop of CONTRACT §8 until the work is accepted, or has failed and that is reported. */
export function runAgent(deps: AgentDeps): Promise<void> {
  return new AgentRun(deps).run()
}
