import { spawn } from 'node:child_process'
import { tail } from '../../schemas/text.ts'

const DEFAULT_TIMEOUT_S = 120
const MAX_TIMEOUT_S = 600
const OUTPUT_CAP = 20_000
/** A command that backgrounds a process keeps its pipes open; once bash exits, wait this long for them to close. */
const CLOSE_GRACE_MS = 200
/**
 * The worker's own secrets: a command the model runs must not be able to print them. And the files bash would read
 * before a non-interactive command (`BASH_ENV`, and `ENV` in sh mode): see shellArgs.
 */
const HIDDEN_ENV = ['OMOI_SANDBOX_TOKEN', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'OMOI_GIT_TOKEN', 'BASH_ENV', 'ENV']

/**
 * bash's arguments for every command a sandbox runs (an agent's `run_command`, a check; local or Daytona, so a check
 * runs as the agent's commands ran): a plain `-c`, no login or interactive startup files. Locally those are not the
 * sandbox's: an unconfined sandbox has the server's HOME, whose dotfiles can slow every command (`pyenv init`) or hang
 * it (`pyenv rehash` waits up to 60 s on a lock file that a killed command left behind); and where HOME holds files of
 * the branch, the agent wrote them (a `.bash_profile` ending in `exit 0` would pass any check). The caller leaves
 * BASH_ENV out of the environment.
 */
export const shellArgs = (command: string): string[] => [...SHELL_FLAGS, command]
/** shellArgs before the command, for a command line built as text (a Daytona check). */
export const SHELL_FLAGS = ['--noprofile', '--norc', '-c'] as const

/**
 * With OMOI_COMMAND_SANDBOX=bwrap (set by the local provider when the worker itself runs in bubblewrap) each command
 * runs in a nested sandbox: its own PID namespace, so the worker process (and what it holds) is out of sight, and an
 * empty /proc (the kernel refuses a fresh proc mount there); `hidden` directories are empty there (the servers'
 * sockets: a command has nothing to say to the server). It shares the worker's network namespace, so it reaches what
 * the worker does. Whatever the command leaves behind ends with it. The arguments end with `--`, before the command.
 */
export function nestedSandboxArgs(hidden: string[]): string[] {
  return ['--unshare-pid', '--unshare-ipc', '--die-with-parent', '--dev-bind', '/', '/', '--tmpfs', '/proc', ...hidden.flatMap((dir) => ['--tmpfs', dir]), '--']
}

/** Process groups started by commands; kept until the worker exits, as a command may leave a server running. */
const groups = new Set<number>()

export interface CommandResult {
  exitCode: number | null
  timedOut: boolean
  /** stdout and stderr interleaved, the last OUTPUT_CAP characters. */
  output: string
}

/** Kills a process group (negative pid), if it is still there. */
export function killGroup(pid: number): void {
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

/**
 * Runs `command` in bash (shellArgs) in its own process group (and nested sandbox, see nestedSandboxArgs), so a timeout
 * kills everything it started. Its environment is the worker's, without HIDDEN_ENV.
 */
export function runCommand(cwd: string, command: string, timeoutS = DEFAULT_TIMEOUT_S): Promise<CommandResult> {
  const seconds = Math.min(Math.max(timeoutS, 0.1), MAX_TIMEOUT_S)
  const env = { ...process.env }
  for (const name of HIDDEN_ENV) delete env[name]
  return new Promise((resolve, reject) => {
    const hidden = env.OMOI_CALLBACK_SOCKET_DIR ? [env.OMOI_CALLBACK_SOCKET_DIR] : []
    const [file, args] = env.OMOI_COMMAND_SANDBOX === 'bwrap' ? ['bwrap', [...nestedSandboxArgs(hidden), 'bash', ...shellArgs(command)]] : ['bash', shellArgs(command)]
    const child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
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
