import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { goodCompleteTask, goodDesign, goodExploration, goodRequirements, goodTasks } from './fixtures.ts'

/**
 * A fake of the Anthropic Messages API (POST /v1/messages, streamed or not) that the real SDK reaches through
 * ANTHROPIC_BASE_URL. Each reply is decided from the request alone (which submit tool is offered, which tools were
 * already called), so a restarted worker or server picks up where the conversation is.
 *
 * Like the real API it refuses whitespace-only text blocks and prompts over `contextWindow`, and it keeps a prompt
 * cache: a request's prefix up to each `cache_control` breakpoint is written, and a later request with the same prefix
 * reads it (usage reports `cache_creation_input_tokens` / `cache_read_input_tokens`). Tokens are counted as the API's
 * tokenizer roughly does: 4 ASCII characters a token, but 1.5 tokens a character of other scripts (CJK: 1 to 2).
 * `script` lets a test decide any answer: an error with headers, or content with a stop reason.
 *
 * Planning phases: list_files → read_file → a bad submission (missing fields) → the good one, again after every rejection.
 * complete_task: write_file omoi-<TSK>.txt → run_command cat → complete_task with passing tests.
 */

export const SUBMIT_TOOL_NAMES = ['submit_exploration', 'submit_requirements', 'submit_design', 'submit_tasks', 'complete_task'] as const
export type SubmitToolName = (typeof SUBMIT_TOOL_NAMES)[number]

const GOOD_OUTPUTS: Record<SubmitToolName, unknown> = {
  submit_exploration: goodExploration,
  submit_requirements: goodRequirements,
  submit_design: goodDesign,
  submit_tasks: goodTasks,
  complete_task: goodCompleteTask,
}

export interface FakeModelOptions {
  /** The good submission of a phase, instead of the fixture (e.g. a custom tasks plan). */
  outputs?: Partial<Record<SubmitToolName, unknown>>
  /** Answer this many requests (any) with 529 overloaded_error before answering normally. */
  overloaded?: number
  /** API keys answered with 401 authentication_error. */
  rejectKeys?: string[]
  /** complete_task of these task ids reports failing tests: always, or for the next N submissions. */
  failingTasks?: Record<string, number | 'always'>
  /** Requests for which no answer ever comes (until close()). */
  hang?: (request: CapturedRequest) => boolean
  /** Submit the good output at once instead of a bad one first. */
  skipBadSubmit?: boolean
  /** Wait this long before each answer. */
  delayMs?: number
  /** Decides the answer to a request before the default conversation does (`undefined`: the default answer). */
  script?: (request: CapturedRequest) => Scripted | undefined
  /** Prompts (input + cache tokens) above this many tokens are refused with 400, as the real API does. */
  contextWindow?: number
  /** The file a task's agent writes (default omoi-<TSK>.txt); null: it changes nothing. */
  taskFile?: (taskId: string) => { path: string; content: string } | null
}

/** A scripted answer: an HTTP error, or a message (streamed when the request asks for a stream). */
export type Scripted =
  | { error: { status: number; type: string; message: string; headers?: Record<string, string>; body?: unknown } }
  | { content: Block[]; stop_reason: string; stop_details?: unknown; output_tokens?: number }
  /**
   * An answer that breaks off inside a write_file call. Streamed: 200, message_start, ping, half the call's input, then
   * an `error` event when `error` is given (an overloaded API), else no more events (the connection closed early). Not
   * streamed: half the JSON body of its announced content-length, then the connection is cut.
   */
  | { cut_off: { error?: { type: string; message: string } } }

/** A tool_use block for scripted answers. */
export const toolUseBlock = (name: string, input: unknown, id = `toolu_s_${Math.random().toString(36).slice(2)}`): Block => ({
  type: 'tool_use',
  id,
  name,
  input,
})

export interface Block {
  type: string
  [k: string]: unknown
}
interface Turn {
  role: 'user' | 'assistant'
  content: string | Block[]
}
export interface MessagesBody {
  model: string
  max_tokens: number
  system?: string
  tools?: { name: string }[]
  messages: Turn[]
  [k: string]: unknown
}

export interface CapturedRequest {
  apiKey: string
  /** 1-based order of arrival. */
  n: number
  submitTool: SubmitToolName | null
  /** For complete_task: the task id named in the system prompt. */
  taskId: string | null
  body: MessagesBody
}

export interface FakeModel {
  url: string
  requests: CapturedRequest[]
  /** Changes the options for the requests that follow. */
  setScenario(options: FakeModelOptions): void
  /** How many requests offered this submit tool. */
  count(tool: SubmitToolName): number
  close(): Promise<void>
}

/** The system prompt's text, sent as a string or as text blocks. */
export function systemText(system: unknown): string {
  if (typeof system === 'string') return system
  return Array.isArray(system) ? system.map((b: { text?: unknown }) => String(b.text ?? '')).join('\n') : ''
}

function blocks(content: Turn['content'] | undefined): Block[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : (content ?? [])
}

export async function startFakeModel(initial: FakeModelOptions = {}): Promise<FakeModel> {
  let options = { ...initial }
  const requests: CapturedRequest[] = []
  const failuresLeft = new Map<string, number>()
  const cache = new Set<string>()
  let ids = 0

  function toolUse(name: string, input: unknown, text: string): Block[] {
    return [
      { type: 'text', text },
      { type: 'tool_use', id: `toolu_fake_${++ids}`, name, input },
    ]
  }

  function completeTaskInput(taskId: string): unknown {
    const failing = options.failingTasks?.[taskId]
    const used = failuresLeft.get(taskId) ?? 0
    const fails = failing === 'always' || (typeof failing === 'number' && used < failing)
    if (fails) failuresLeft.set(taskId, used + 1)
    const good = (options.outputs?.complete_task ?? goodCompleteTask) as typeof goodCompleteTask
    const tail = fails ? '1 failed' : 'all passed'
    return { ...good, tests: { command: `cat omoi-${taskId}.txt`, passed: !fails, output_tail: tail } }
  }

  /** The next assistant content for this conversation. */
  function reply(req: CapturedRequest): Block[] {
    const tool = req.submitTool!
    const called = req.body.messages.flatMap((t) => (t.role === 'assistant' ? blocks(t.content) : [])).filter((b) => b.type === 'tool_use')
    const has = (name: string) => called.some((b) => b.name === name)
    if (tool === 'complete_task') {
      const task = req.taskId ?? 'TSK-000'
      const file = options.taskFile ? options.taskFile(task) : { path: `omoi-${task}.txt`, content: `done by the fake model for ${task}\n` }
      if (file && !has('write_file')) return toolUse('write_file', file, 'Writing the change.')
      if (!has('run_command')) return toolUse('run_command', { command: `cat omoi-${task}.txt` }, 'Checking it.')
      return toolUse(tool, completeTaskInput(task), 'Done.')
    }
    if (!has('list_files')) return toolUse('list_files', {}, 'Let me look around.')
    if (!has('read_file')) return toolUse('read_file', { path: readableFile(req.body.messages) }, 'Reading a file.')
    if (!has(tool) && !options.skipBadSubmit) return toolUse(tool, { summary: 'x' }, 'Submitting a first draft.')
    return toolUse(tool, options.outputs?.[tool] ?? GOOD_OUTPUTS[tool], 'Submitting the complete version.')
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
    }
    const error = (status: number, type: string, message: string, headers?: Record<string, string>) =>
      send(status, { type: 'error', error: { type, message } }, headers)

    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/messages') return error(404, 'not_found_error', 'not found')
    const apiKey = (req.headers['x-api-key'] as string | undefined) ?? req.headers.authorization?.replace(/^Bearer /, '')
    if (!apiKey) return error(401, 'authentication_error', 'missing x-api-key or authorization header')
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = JSON.parse(Buffer.concat(chunks).toString('utf8')) as MessagesBody
    // tests read the system prompt as one string, whether it was sent as a string or as blocks
    const body: MessagesBody = { ...raw, system: systemText(raw.system) }
    const submitTool = SUBMIT_TOOL_NAMES.find((name) => body.tools?.some((t) => t.name === name)) ?? null
    const taskId = /Your task: (TSK-\d+)/.exec(body.system ?? '')?.[1] ?? null
    const captured: CapturedRequest = { apiKey, n: requests.length + 1, submitTool, taskId, body }
    requests.push(captured)

    if (options.rejectKeys?.includes(apiKey)) return error(401, 'authentication_error', 'invalid x-api-key')
    if (options.overloaded && options.overloaded > 0) {
      options.overloaded--
      return error(529, 'overloaded_error', 'Overloaded', { 'retry-after-ms': '20' })
    }
    for (const unsupported of ['temperature', 'top_p', 'top_k']) {
      if (unsupported in body) return error(400, 'invalid_request_error', `${unsupported} is not supported by this model`)
    }
    if (!body.model || !body.max_tokens || !Array.isArray(body.messages)) {
      return error(400, 'invalid_request_error', 'model, max_tokens and messages are required')
    }
    const blank = body.messages.some((t) => blocks(t.content).some((b) => b.type === 'text' && !String(b.text).trim()))
    if (blank) return error(400, 'invalid_request_error', 'messages: text content blocks must contain non-whitespace text')
    const usage = promptUsage(raw, cache)
    const prompt = usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens
    if (options.contextWindow && prompt > options.contextWindow) {
      return error(400, 'invalid_request_error', `prompt is too long: ${prompt} tokens > ${options.contextWindow} maximum`)
    }
    if (options.hang?.(captured)) return
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs))
    const scripted = options.script?.(captured)
    if (scripted && 'error' in scripted) {
      const e = scripted.error
      return e.body === undefined ? error(e.status, e.type, e.message, e.headers) : send(e.status, e.body, e.headers)
    }
    if (scripted && 'cut_off' in scripted) {
      return body.stream ? streamCut(res, { model: body.model, usage }, scripted.cut_off.error) : bodyCut(res, { model: body.model, usage })
    }
    if (!scripted && !submitTool) return error(400, 'invalid_request_error', 'the fake model needs one of the submit tools')
    const content = scripted ? scripted.content : reply(captured)
    const message = {
      id: `msg_fake_${++ids}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content,
      stop_reason: scripted ? scripted.stop_reason : 'tool_use',
      stop_sequence: null,
      ...(scripted?.stop_details ? { stop_details: scripted.stop_details } : {}),
      usage: { ...usage, output_tokens: scripted?.output_tokens ?? Math.min(body.max_tokens, 25) },
    }
    if (body.stream) return streamMessage(res, message)
    send(200, message)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: String(err) } }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setScenario(next) {
      options = { ...options, ...next }
    },
    count: (tool) => requests.filter((r) => r.submitTool === tool).length,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A file the fake "saw" in its list_files result: README.md if there is one, else the first file listed. */
function readableFile(messages: Turn[]): string {
  const listed = messages
    .flatMap((t) => (t.role === 'user' ? blocks(t.content) : []))
    .filter((b) => b.type === 'tool_result')
    .flatMap((b) => blocks(b.content as Turn['content'] | undefined))
    .flatMap((b) => (typeof b.text === 'string' ? b.text.split('\n') : []))
    .filter((line) => line && !line.endsWith('/') && !line.startsWith('('))
  return listed.find((line) => line === 'README.md') ?? listed[0] ?? 'README.md'
}

/** The request without its cache_control marks, as a list of pieces in cache order: tools, system, message blocks. */
function promptPieces(body: MessagesBody): { text: string; breakpoint: boolean }[] {
  const piece = (b: unknown) => {
    const { cache_control, ...rest } = b as Record<string, unknown>
    return { text: JSON.stringify(rest), breakpoint: cache_control !== undefined }
  }
  const system = typeof body.system === 'string' ? [{ type: 'text', text: body.system }] : ((body.system as unknown[] | undefined) ?? [])
  return [
    ...(body.tools ?? []).map(piece),
    ...system.map(piece),
    ...body.messages.flatMap((t) => blocks(t.content).map((b) => piece({ role: t.role, ...b }))),
  ]
}

/** Roughly what the API counts: ASCII text near 4 characters a token, other scripts (CJK) 1 to 2 tokens a character. */
const tokensOf = (text: string) => {
  const ascii = text.replace(/[^\x00-\x7f]/g, '').length
  return Math.ceil(ascii / 4 + (text.length - ascii) * 1.5)
}

/**
 * The usage of a prompt against the fake's prompt cache: the longest prefix ending at a breakpoint that was written
 * before is read; the rest up to the last breakpoint is written; what follows is plain input.
 */
function promptUsage(body: MessagesBody, cache: Set<string>) {
  const pieces = promptPieces(body)
  let prefix = ''
  let read = ''
  let lastBreakpoint = ''
  const written: string[] = []
  for (const p of pieces) {
    prefix += p.text
    if (!p.breakpoint) continue
    if (cache.has(prefix)) read = prefix
    written.push(prefix)
    lastBreakpoint = prefix
  }
  for (const w of written) cache.add(w)
  // counted on whole prefixes, so a turn reads exactly the tokens the turns before it wrote
  const cached = tokensOf(read.length > lastBreakpoint.length ? read : lastBreakpoint)
  return {
    input_tokens: tokensOf(prefix) - cached,
    cache_creation_input_tokens: cached - tokensOf(read),
    cache_read_input_tokens: tokensOf(read),
  }
}

/** Writes one server-sent event of the Messages API's stream (its `type` also in the data, as the API sends it). */
const sseEvent = (res: ServerResponse) => (type: string, data: unknown) =>
  res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...(data as object) })}\n\n`)

/** Sends a message as the API's server-sent events: usage of the prompt in message_start, output in message_delta. */
function streamMessage(res: ServerResponse, message: { content: Block[]; usage: Record<string, number>; [k: string]: unknown }): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  const event = sseEvent(res)
  const { output_tokens, ...prompt } = message.usage
  event('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...prompt, output_tokens: 1 } } })
  event('ping', {})
  message.content.forEach((block, index) => {
    if (block.type === 'tool_use') {
      event('content_block_start', { index, content_block: { ...block, input: {} } })
      event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } })
    } else {
      event('content_block_start', { index, content_block: { ...block, text: '' } })
      event('content_block_delta', { index, delta: { type: 'text_delta', text: String(block.text ?? '') } })
    }
    event('content_block_stop', { index })
  })
  event('message_delta', {
    delta: { stop_reason: message.stop_reason, stop_sequence: null, ...(message.stop_details ? { stop_details: message.stop_details } : {}) },
    usage: { output_tokens },
  })
  event('message_stop', {})
  res.end()
}

/** A streamed answer that breaks off inside a tool call: with an `error` event (answered 200, then the error), or none. */
function streamCut(res: ServerResponse, message: { model: string; usage: Record<string, number> }, error?: { type: string; message: string }): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  const event = sseEvent(res)
  const start = { id: 'msg_fake_cut', type: 'message', role: 'assistant', model: message.model, content: [], stop_reason: null, stop_sequence: null }
  event('message_start', { message: { ...start, usage: { ...message.usage, output_tokens: 1 } } })
  event('ping', {})
  event('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_fake_cut', name: 'write_file', input: {} } })
  event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"path":"cut.txt","content":"half of the' } })
  if (error) event('error', { error })
  res.end()
}

/** A JSON answer cut off halfway: its content-length promises more than comes before the connection ends. */
function bodyCut(res: ServerResponse, message: { model: string; usage: Record<string, number> }): void {
  const content = [{ type: 'tool_use', id: 'toolu_fake_cut', name: 'write_file', input: { path: 'cut.txt', content: 'whole' } }]
  const full = JSON.stringify({ id: 'msg_fake_cut', type: 'message', role: 'assistant', model: message.model, content, stop_reason: 'tool_use', usage: message.usage })
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(full)) })
  res.write(full.slice(0, full.length / 2), () => res.socket?.destroy())
}
