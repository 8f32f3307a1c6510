import { spawn } from 'node:child_process'
import { tail } from '../../schemas/text.ts'

const DEFAULT_TIMEOUT_S = 120
const MAX_TIMEOUT_S = 600
const OUTPUT_CAP = 20_000
/** A command that backgrounds a process keeps its pipes open; once bash exits, wait this long for them to close. */
const CLOSE_GRACE_MS = 200
/** The worker's own secrets: a command the model runs must not be able to print them. */
const HIDDEN_ENV = ['OMOI_SANDBOX_TOKEN', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'OMOI_GIT_TOKEN']

/** Process groups started by commands; kept until the worker exits, as a command may leave a server running. */
const groups = new Set<number>()

export interface CommandResult {
  exitCode: number | null
  timedOut: boolean
  /** stdout and stderr interleaved, the last OUTPUT_CAP characters. */
  output: string
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

/** Kills whatever the commands started and is still running (the worker is about to exit). */
export function killRunningCommands(): void {
  for (const pid of groups) killGroup(pid)
}

/** Runs `bash -lc command` in its own process group, so a timeout kills everything it started. */
export function runCommand(cwd: string, command: string, timeoutS = DEFAULT_TIMEOUT_S): Promise<CommandResult> {
  const seconds = Math.min(Math.max(timeoutS, 0.1), MAX_TIMEOUT_S)
  const env = { ...process.env }
  for (const name of HIDDEN_ENV) delete env[name]
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-lc', command], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let timedOut = false
    const append = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      if (output.length > 2 * OUTPUT_CAP) output = tail(output, OUTPUT_CAP)
    }
    child.stdout.on('data', append)
    child.stderr.on('data', append)
    const timer = setTimeout(() => {
      timedOut = true
      if (child.pid) killGroup(child.pid)
    }, seconds * 1000)
    let settled = false
    const finish = (exitCode: number | null) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.stdout.destroy()
      child.stderr.destroy()
      resolve({ exitCode, timedOut, output: tail(output, OUTPUT_CAP) })
    }
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('exit', (code) => setTimeout(() => finish(code), CLOSE_GRACE_MS).unref())
    child.on('close', (code) => finish(code))
    if (child.pid) groups.add(child.pid)
  })
}
