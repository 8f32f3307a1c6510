import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { goodCompleteTask, goodDesign, goodExploration, goodRequirements, goodTasks } from './fixtures.ts'

/**
 * A fake of the Anthropic Messages API (POST /v1/messages, non-streaming) that the real SDK reaches through
 * ANTHROPIC_BASE_URL. Each reply is decided from the request alone (which submit tool is offered, which tools were
 * already called), so a restarted worker or server picks up where the conversation is.
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
  /** The file a task's agent writes (default omoi-<TSK>.txt); null: it changes nothing. */
  taskFile?: (taskId: string) => { path: string; content: string } | null
}

interface Block {
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

function blocks(content: Turn['content'] | undefined): Block[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : (content ?? [])
}

export async function startFakeModel(initial: FakeModelOptions = {}): Promise<FakeModel> {
  let options = { ...initial }
  const requests: CapturedRequest[] = []
  const failuresLeft = new Map<string, number>()
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
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as MessagesBody
    const submitTool = SUBMIT_TOOL_NAMES.find((name) => body.tools?.some((t) => t.name === name)) ?? null
    const taskId = /Your task: (TSK-\d+)/.exec(body.system ?? '')?.[1] ?? null
    const captured: CapturedRequest = { apiKey, submitTool, taskId, body }
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
    if (!submitTool) return error(400, 'invalid_request_error', 'the fake model needs one of the submit tools')
    if (options.hang?.(captured)) return
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs))

    send(200, {
      id: `msg_fake_${++ids}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: reply(captured),
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 100 + 10 * body.messages.length, output_tokens: 25 },
    })
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
