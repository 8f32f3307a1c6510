/**
 * The sandbox worker: fetches its assignment, runs the model with the workspace tools, streams agent events and
 * posts each submission. Runs on plain Node in the workspace (its cwd), bundled by scripts/build-worker.ts.
 * Exit code 0 when the work is done or its failure reported, or when the server ended the sandbox; 1 on a crash.
 * Whatever ends it, its buffered events are flushed first.
 */
import Anthropic from '@anthropic-ai/sdk'
import { runAgent } from './agent.ts'
import { CallbackClient, SandboxEndedError } from './callback.ts'
import { killRunningCommands } from './command.ts'
import { EventQueue } from './events.ts'
import { Inbox } from './inbox.ts'
import { errorMessage, log } from './log.ts'
import { takeSandboxToken } from './token.ts'
import { openWorkspace } from './tools.ts'
import { serverFetch } from './transport.ts'

const REQUIRED_ENV = ['OMOI_SANDBOX_ID', 'OMOI_CALLBACK_URL'] as const
/** The longest the last flush may hold the exit. */
const FINAL_FLUSH_MS = 10_000
/** On SIGTERM the last flush gets this long (the provider kills a worker that outlasts its stop grace). */
const TERM_FLUSH_MS = 2_000
/** After the server ended the sandbox, the loop gets this long to wind down before the worker exits anyway. */
const STOP_GRACE_MS = 5_000
/** Without limits from the server, the smallest window and output of the current models. */
const UNKNOWN_LIMITS = { context_window: 200_000, max_output: 64_000 }

function readEnv() {
  const token = takeSandboxToken()
  const missing = [...REQUIRED_ENV.filter((name) => !process.env[name]), ...(token ? [] : ['OMOI_SANDBOX_TOKEN'])]
  if (missing.length > 0) {
    log.error('missing environment variables', { missing })
    process.exit(1)
  }
  const env = process.env as Record<(typeof REQUIRED_ENV)[number], string> & NodeJS.ProcessEnv
  return {
    sandboxId: env.OMOI_SANDBOX_ID,
    token: token!,
    callbackUrl: env.OMOI_CALLBACK_URL,
    callbackSocketDir: env.OMOI_CALLBACK_SOCKET_DIR || undefined,
    callbackFallbackUrl: env.OMOI_CALLBACK_FALLBACK_URL || undefined,
    // the server's model proxy takes the sandbox token as its key; a direct ANTHROPIC_API_KEY still works
    apiKey: env.ANTHROPIC_API_KEY || token!,
    viaProxy: !env.ANTHROPIC_API_KEY,
    baseUrl: env.ANTHROPIC_BASE_URL || undefined,
    model: env.OMOI_MODEL || undefined,
    heartbeatMs: Number(env.OMOI_HEARTBEAT_MS) || 15_000,
    pollMs: Number(env.OMOI_POLL_MS) || 2_000,
  }
}

function exit(code: number): never {
  killRunningCommands()
  process.exit(code)
}

const env = readEnv()
const toServer = serverFetch(env.callbackUrl, env.callbackSocketDir, env.callbackFallbackUrl)
const client = new CallbackClient(env.callbackUrl, env.sandboxId, env.token, toServer)
const events = new EventQueue(client, onBackgroundError)
/** Aborted once the server has ended this sandbox: the model call in flight and any command are dropped. */
const ended = new AbortController()

/**
 * The last events (the submission's tool result, agent.completed) still go out, whatever ends the worker: the server
 * takes a just-ended sandbox's events for a grace period. Bounded, so a server that is gone cannot hold the exit.
 */
async function flushThenExit(code: number, withinMs = FINAL_FLUSH_MS): Promise<never> {
  await Promise.race([events.flush().catch(() => {}), new Promise((resolve) => setTimeout(resolve, withinMs))])
  exit(code)
}

/**
 * Heartbeats and message polls run beside the model loop. A 401 there means the server ended the sandbox: the loop is
 * stopped (its model call aborted, its commands killed) and ends on its own, flushing what it has to say.
 */
function onBackgroundError(err: unknown): void {
  if (err instanceof SandboxEndedError) {
    if (ended.signal.aborted) return
    log.info('the server ended this sandbox; stopping')
    ended.abort()
    killRunningCommands()
    setTimeout(() => void flushThenExit(0), STOP_GRACE_MS).unref()
    return
  }
  log.warn('background call failed', { error: errorMessage(err) })
}

async function crash(err: unknown): Promise<never> {
  if (err instanceof SandboxEndedError) return flushThenExit(0)
  const error = `the worker crashed: ${errorMessage(err)}`
  log.error(error, { stack: err instanceof Error ? err.stack : undefined })
  events.push('agent.error', { error })
  return flushThenExit(1)
}

async function work(): Promise<void> {
  const assignment = await client.getAssignment()
  client.setDeadline(Date.parse(assignment.deadline))
  const workspace = await openWorkspace(process.cwd())
  const inbox = new Inbox(client, env.pollMs, onBackgroundError)
  const heartbeat = setInterval(() => events.push('agent.heartbeat', {}), env.heartbeatMs)
  inbox.start()
  try {
    await runAgent({
      assignment,
      // retries are the agent's own (each wait is announced as agent.waiting), so the SDK makes none
      model: new Anthropic({ apiKey: env.apiKey, baseURL: env.baseUrl, maxRetries: 0, fetch: toServer }),
      modelName: env.model ?? assignment.model,
      limits: assignment.model_limits ?? UNKNOWN_LIMITS,
      viaProxy: env.viaProxy,
      signal: ended.signal,
      client,
      events,
      workspace,
      takeMessages: () => inbox.take(),
    })
  } finally {
    clearInterval(heartbeat)
    inbox.stop()
  }
}

// a stop: the running commands end at once; what is buffered still goes out, briefly (the provider waits a few seconds)
process.on('SIGTERM', () => {
  killRunningCommands()
  void flushThenExit(143, TERM_FLUSH_MS)
})
process.on('uncaughtException', (err) => void crash(err))
process.on('unhandledRejection', (err) => void crash(err))
work().then(() => flushThenExit(0), crash)
