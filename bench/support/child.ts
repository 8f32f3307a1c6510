import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Starts a load-generating script in its own process (its own event loop, so it can use the second core instead of
 * competing with the server it measures), sends it `job`, and resolves with the first message it sends back.
 */
export function runChild<Job, Answer>(
  script: URL,
  job: Job,
  options: { timeoutMs: number; onMessage?: (m: unknown) => void; /** Node options for the child, besides `--import tsx`. */ execArgv?: string[] },
): {
  child: ChildProcess
  result: Promise<Answer>
} {
  const child = fork(fileURLToPath(script), [], { execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const result = new Promise<Answer>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${script.pathname} did not answer within ${options.timeoutMs} ms`))
    }, options.timeoutMs)
    child.on('message', (m: any) => {
      if (m && m.kind === 'progress') return options.onMessage?.(m)
      clearTimeout(timer)
      if (m && m.kind === 'error') reject(new Error(m.message))
      else resolve(m as Answer)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${script.pathname} exited with ${code} before answering`))
    })
  })
  child.send(job as never)
  return { child, result }
}

/** In a child: waits for the job, runs it, sends the answer (or the error), then exits. */
export function serveChild<Job, Answer>(handler: (job: Job) => Promise<Answer>): void {
  process.once('message', (job: Job) => {
    handler(job).then(
      (answer) => process.send!(answer as never, () => process.exit(0)),
      (err) => process.send!({ kind: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, () => process.exit(1)),
    )
  })
}
