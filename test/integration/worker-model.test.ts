import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STUB_TEXT } from '../../src/sandbox/worker/conversation.ts'
import { toolUseBlock, type Block, type CapturedRequest, type Scripted } from '../support/fake-model.ts'
import { goodExploration } from '../support/fixtures.ts'
import { waitFor } from '../support/wait.ts'
import { startWorkerHarness } from '../support/worker-harness.ts'

/** The worker against answers the Messages API really gives (issue 10), through the real SDK and the fake model. */

let h: Awaited<ReturnType<typeof startWorkerHarness>>
beforeAll(async () => {
  h = await startWorkerHarness({ skipBadSubmit: true })
})
afterAll(() => h.close())

const blocksOf = (content: unknown): Block[] => (typeof content === 'string' ? [{ type: 'text', text: content }] : ((content as Block[]) ?? []))
const called = (r: CapturedRequest) =>
  r.body.messages.flatMap((t) => (t.role === 'assistant' ? blocksOf(t.content) : [])).filter((b) => b.type === 'tool_use').map((b) => String(b.name))
const lastUserBlocks = (r: CapturedRequest) => blocksOf(r.body.messages.at(-1)!.content)
const submit = (input: unknown): Scripted => ({ content: [{ type: 'text', text: 'Submitting.' }, toolUseBlock('submit_exploration', input)], stop_reason: 'tool_use' })
const A_FILE_OF_30_KB = "head -c 30000 /dev/zero | tr '\\0' a > big.txt"
/**
 * The next answer of an agent that writes big.txt with `command`, then reads it `reads` times (the conversation grows),
 * then does `then` (undefined: submits the exploration).
 */
const readBigFile = (r: CapturedRequest, command: string, reads: number, then?: () => Scripted | undefined): Scripted | undefined => {
  const done = called(r)
  if (done.length === 0) return { content: [toolUseBlock('run_command', { command })], stop_reason: 'tool_use' }
  if (done.filter((t) => t === 'read_file').length < reads) return { content: [toolUseBlock('read_file', { path: 'big.txt' })], stop_reason: 'tool_use' }
  return then?.() ?? submit(goodExploration)
}

describe('stop reasons', () => {
  it('a submission cut off by max_tokens is never submitted; the turn is asked again, streamed, with a larger budget', async () => {
    const run = await h.launch({
      script: (r) =>
        r.body.max_tokens <= 8_192
          ? { content: [toolUseBlock('submit_exploration', { summary: 'A half-writ' })], stop_reason: 'max_tokens', output_tokens: 8_192 }
          : submit(goodExploration),
    })
    await h.exited(run.handle)
    expect(run.api.results.map((r) => r.output)).toEqual([goodExploration])
    expect(run.requests().map((r) => [r.body.max_tokens, r.body.stream ?? false])).toEqual([
      [8_192, false],
      [32_000, true],
    ])
    expect(run.api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: true } })
  })

  it('at the model output limit the model is told to split the work, and the cut-off call is not run', async () => {
    const run = await h.launch({
      limits: { context_window: 200_000, max_output: 8_192 },
      script: (r) => {
        const told = lastUserBlocks(r).some((b) => String(b.text ?? '').includes('cut off at the output limit'))
        return told ? submit(goodExploration) : { content: [toolUseBlock('write_file', { path: 'big.md', content: 'half' })], stop_reason: 'max_tokens' }
      },
    })
    await h.exited(run.handle)
    const told = run.requests().at(-1)!
    expect(lastUserBlocks(told).at(-1)!.text).toMatch(
      /^Your last answer was cut off at the output limit \(8192 tokens\) in the middle of a tool call, so nothing of it was run\. Split/,
    )
    expect(run.api.of('agent.tool_use').map((e) => e.data.tool)).toEqual(['submit_exploration'])
    expect(run.api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: true } })
  })

  it('a whitespace-only text block is not sent back (the API would refuse the next request)', async () => {
    const run = await h.launch({
      script: (r) => (called(r).length === 0 ? { content: [{ type: 'text', text: '\n\n' }, toolUseBlock('list_files', {})], stop_reason: 'tool_use' } : undefined),
    })
    await h.exited(run.handle)
    expect(run.api.of('agent.error')).toEqual([])
    expect(run.api.results.map((r) => r.outcome)).toEqual(['submitted'])
    expect(run.requests()[1]!.body.messages[1]).toMatchObject({ role: 'assistant', content: [{ type: 'tool_use', name: 'list_files' }] })
  })

  it('a refusal ends the attempt at once with an error that says the model refused and quotes its reason', async () => {
    const run = await h.launch({
      script: () => ({
        content: [],
        stop_reason: 'refusal',
        stop_details: { type: 'refusal', category: 'cyber', explanation: 'This request looks like malware development.' },
      }),
    })
    await h.exited(run.handle)
    const error = 'the model refused to continue: This request looks like malware development.'
    expect(run.api.of('agent.error').map((e) => e.data.error)).toEqual([error])
    expect(run.api.results).toEqual([expect.objectContaining({ outcome: 'failed', error })])
    expect(run.requests()).toHaveLength(1)
  })
})

describe('visible waits', () => {
  it('a 429 with retry-after: 900 is announced as a wait of at most 60 s', async () => {
    const run = await h.launch({
      script: () => ({ error: { status: 429, type: 'rate_limit_error', message: 'Rate limited', headers: { 'retry-after': '900' } } }),
    })
    const waiting = await waitFor(() => run.api.of('agent.waiting')[0], { what: 'agent.waiting' })
    expect(waiting.data).toEqual({ reason: 'rate_limited', attempt: 1, retry_in_ms: 60_000 })
    await h.provider.stop(run.handle)
  })

  it('500 and 529 answers are each announced as a wait, then the work goes on', async () => {
    const answers = [500, 529, 500]
    const run = await h.launch({
      script: (r) => {
        const status = answers[r.n - first]
        if (status === undefined) return undefined
        return { error: { status, type: status === 529 ? 'overloaded_error' : 'api_error', message: 'busy', headers: { 'retry-after-ms': '10' } } }
      },
    })
    const first = h.model.requests.length + 1
    await h.exited(run.handle)
    expect(run.api.of('agent.waiting').map((e) => e.data)).toEqual([
      { reason: 'server_error', attempt: 1, retry_in_ms: 10 },
      { reason: 'overloaded', attempt: 2, retry_in_ms: 10 },
      { reason: 'server_error', attempt: 3, retry_in_ms: 10 },
    ])
    expect(run.api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: true } })
  })
  it.each([
    ['a streamed answer', 'an overloaded_error event', { error: { type: 'overloaded_error', message: 'Overloaded' } }, 'overloaded'],
    ['a streamed answer', 'the end of the connection', {}, 'connection'],
    ['an answer', 'a connection cut mid-body', {}, 'connection'],
  ] as const)('%s broken off by %s is waited out, and its half tool call never runs', async (kind, _, cut, reason) => {
    const streamed = kind === 'a streamed answer'
    let broken = false
    const run = await h.launch({
      script: (r) => {
        if (streamed && r.body.max_tokens <= 8_192) return { content: [toolUseBlock('submit_exploration', { summary: 'A half' })], stop_reason: 'max_tokens' }
        if (!broken) {
          broken = true
          return { cut_off: cut }
        }
        return submit(goodExploration)
      },
    })
    await h.exited(run.handle)
    expect(run.api.of('agent.error')).toEqual([])
    expect(run.api.of('agent.waiting').map((e) => e.data.reason)).toEqual([reason])
    expect(run.api.of('agent.tool_use').map((e) => e.data.tool)).toEqual(['submit_exploration'])
    expect(run.api.results.map((r) => r.output)).toEqual([goodExploration])
    expect(run.requests().map((r) => [r.body.max_tokens, r.body.stream ?? false])).toEqual(
      streamed ? [[8_192, false], [32_000, true], [32_000, true]] : [[8_192, false], [8_192, false]],
    )
  })

  it('an answer that breaks off every time fails the attempt on the 4th, instead of being paid for until the deadline', async () => {
    const run = await h.launch({ script: (r) => (r.n >= first ? { cut_off: {} } : undefined) })
    const first = h.model.requests.length + 1
    await h.exited(run.handle)
    expect(run.api.of('agent.waiting').map((e) => e.data.reason)).toEqual(['connection', 'connection', 'connection'])
    expect(run.api.of('agent.error').map((e) => e.data.error)).toEqual([
      expect.stringMatching(/^the model's answer broke off 4 times for one turn \(the answer broke off: /),
    ])
    expect(run.api.results.map((r) => r.outcome)).toEqual(['failed'])
    expect(run.requests()).toHaveLength(4)
  })
})

describe('prompt caching and the context window', () => {
  it('marks tools, system and the newest turns for caching, so later turns read the cache', async () => {
    const run = await h.launch()
    await h.exited(run.handle)
    const usage = run.api.of('agent.usage').map((e) => e.data as Record<string, number>)
    expect(usage.length).toBeGreaterThanOrEqual(3)
    // each turn reads all that the turn before it read or wrote, and pays full price for nothing
    usage.slice(1).forEach((turn, i) => {
      const before = usage[i]!
      expect(turn.cache_read_input_tokens).toBe(before.cache_read_input_tokens! + before.cache_creation_input_tokens!)
      expect(turn.input_tokens).toBe(0)
    })
  })

  it('replaces old tool results by a stub instead of outgrowing the window (no 400)', async () => {
    h.model.setScenario({ contextWindow: 20_000 })
    const run = await h.launch({
      limits: { context_window: 20_000, max_output: 8_192 },
      script: (r) => readBigFile(r, A_FILE_OF_30_KB, 3),
    })
    await h.exited(run.handle)
    h.model.setScenario({ contextWindow: undefined })
    expect(run.api.of('agent.error')).toEqual([])
    expect(run.api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: true } })
    const last = JSON.stringify(run.requests().at(-1)!.body.messages)
    expect(last).toContain(STUB_TEXT)
  })
  it('counts text in other scripts (CJK) as the API does, so a Chinese file read thrice stays inside the window', async () => {
    h.model.setScenario({ contextWindow: 60_000 })
    const run = await h.launch({
      limits: { context_window: 60_000, max_output: 8_192 },
      // 12,000 CJK characters: near 18,000 tokens for the API, 8,000 for an estimate of 3 characters a token
      script: (r) => readBigFile(r, 'yes 汉字 | head -n 6000 > big.txt', 3),
    })
    await h.exited(run.handle)
    h.model.setScenario({ contextWindow: undefined })
    expect(run.api.of('agent.error')).toEqual([])
    // every request was answered: none was refused as too long
    expect(run.api.of('agent.usage')).toHaveLength(run.requests().length)
    expect(run.api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: true } })
    expect(JSON.stringify(run.requests().at(-1)!.body.messages)).toContain(STUB_TEXT)
  })
  it('a 400 "prompt is too long" (the window is smaller than thought) stubs old tool results and asks again', async () => {
    h.model.setScenario({ contextWindow: 20_000 })
    const run = await h.launch({
      limits: { context_window: 200_000, max_output: 8_192 },
      script: (r) => readBigFile(r, A_FILE_OF_30_KB, 3),
    })
    await h.exited(run.handle)
    h.model.setScenario({ contextWindow: undefined })
    expect(run.api.of('agent.error')).toEqual([])
    expect(run.api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: true } })
    // one request was refused (no usage), the same turn was asked again with old results stubbed
    expect(run.requests().length - run.api.of('agent.usage').length).toBe(1)
    expect(JSON.stringify(run.requests().at(-1)!.body.messages)).toContain(STUB_TEXT)
  })

  it('an answer stopped by model_context_window_exceeded never runs its half tool call; the turn is asked again with less', async () => {
    let stopped = false
    const run = await h.launch({
      script: (r) =>
        readBigFile(r, A_FILE_OF_30_KB, 2, () => {
          if (stopped) return undefined
          stopped = true
          return { content: [{ type: 'text', text: 'Writing it.' }, toolUseBlock('write_file', { path: 'notes.md', content: 'half of' })], stop_reason: 'model_context_window_exceeded' }
        }),
    })
    await h.exited(run.handle)
    expect(run.api.of('agent.error')).toEqual([])
    expect(run.api.of('agent.tool_use').map((e) => e.data.tool)).not.toContain('write_file')
    expect(run.api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: true } })
    expect(JSON.stringify(run.requests().at(-1)!.body.messages)).toContain(STUB_TEXT)
  })
})

describe('how a worker ends', () => {
  it('flushes the tool result and agent.completed although its message poll gets 401 once the sandbox ended (issue 11 case 8)', async () => {
    const run = await h.launch({ endOnAccept: true, lateEventsDelayMs: 500 })
    await h.exited(run.handle)
    expect(run.api.events.slice(-2)).toEqual([
      expect.objectContaining({ type: 'agent.tool_result', data: expect.objectContaining({ tool: 'submit_exploration', ok: true }) }),
      expect.objectContaining({ type: 'agent.completed', data: { accepted: true } }),
    ])
  })

  it('a 401 from the server proxy (sandbox ended by pause or cancel) stops quietly, blaming no API key (issue 14 case 3)', async () => {
    const run = await h.launch({
      viaProxy: true,
      script: () => ({
        error: {
          status: 401,
          type: 'x',
          message: 'x',
          body: { error: { code: 'unauthenticated', message: 'This sandbox token is not valid (wrong, or its sandbox has ended).' } },
        },
      }),
    })
    await h.exited(run.handle)
    expect(run.requests()).toHaveLength(1)
    expect(run.api.of('agent.error')).toEqual([])
    expect(run.api.results).toEqual([])
  })

  it('a 402 from the proxy (budget spent) is a budget stop, not an error', async () => {
    const run = await h.launch({
      viaProxy: true,
      script: () => ({ error: { status: 402, type: 'x', message: 'x', body: { error: { code: 'budget_exceeded', message: 'The budget is spent.' } } } }),
    })
    await h.exited(run.handle)
    expect(run.api.of('agent.error')).toEqual([])
    expect(run.api.results).toEqual([])
    expect(run.api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: false, stopped: 'budget_exceeded' } })
  })

  it("the model reads the server's verdict feedback as is, without a second header (issue 18)", async () => {
    const feedback = 'Rejected (score 1.00). key_files is empty: name the files that matter.'
    let submitted = 0
    const run = await h.launch({
      verdict: (n) => (n === 1 ? { accepted: false, score: 1, feedback } : { accepted: true, score: 1, feedback: 'Accepted (score 1.00).' }),
      script: () => submit(++submitted === 1 ? { summary: 'x' } : goodExploration),
    })
    await h.exited(run.handle)
    const result = lastUserBlocks(run.requests()[1]!).find((b) => b.type === 'tool_result')
    expect(result).toMatchObject({ content: feedback, is_error: true })
  })
})
