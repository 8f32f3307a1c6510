/**
 * The sandbox worker: fetches its assignment, runs the model with the workspace tools, streams agent events and
 * posts each submission. Runs on plain Node in the workspace (its cwd), bundled by scripts/build-worker.ts.
 * Exit code 0 when the work is done or its failure reported, or when the server ended the sandbox; 1 on a crash.
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

const REQUIRED_ENV = ['OMOI_SANDBOX_ID', 'OMOI_CALLBACK_URL'] as const
const CRASH_REPORT_MS = 5_000

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
    // the server's model proxy takes the sandbox token as its key; a direct ANTHROPIC_API_KEY still works
    apiKey: env.ANTHROPIC_API_KEY || token!,
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
const client = new CallbackClient(env.callbackUrl, env.sandboxId, env.token)
const events = new EventQueue(client, onBackgroundError)

/** Heartbeats and message polls run beside the model loop; a 401 there ends the worker like anywhere else. */
function onBackgroundError(err: unknown): void {
  if (err instanceof SandboxEndedError) exit(0)
  log.warn('background call failed', { error: errorMessage(err) })
}

async function crash(err: unknown): Promise<never> {
  if (err instanceof SandboxEndedError) exit(0)
  const error = `the worker crashed: ${errorMessage(err)}`
  log.error(error, { stack: err instanceof Error ? err.stack : undefined })
  events.push('agent.error', { error })
  await Promise.race([events.flush().catch(() => {}), new Promise((resolve) => setTimeout(resolve, CRASH_REPORT_MS))])
  exit(1)
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
      // the model is reached through the server, which may restart under a running worker: the SDK's backoff (capped
      // at 8 s) over this many retries waits out a restart of several minutes, as the callback client does
      model: new Anthropic({ apiKey: env.apiKey, baseURL: env.baseUrl, maxRetries: 60 }),
      modelName: env.model ?? assignment.model,
      client,
      events,
      workspace,
      takeMessages: () => inbox.take(),
    })
  } finally {
    clearInterval(heartbeat)
    inbox.stop()
  }
  await events.flush()
}

process.on('SIGTERM', () => exit(143))
process.on('uncaughtException', (err) => void crash(err))
process.on('unhandledRejection', (err) => void crash(err))
work().then(() => exit(0), crash)
