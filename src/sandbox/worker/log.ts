/**
 * The worker's logger: JSON lines on stderr, which the provider keeps as the sandbox's worker.log.
 * The worker is bundled on its own, so it cannot use the server's src/log.ts.
 */

type Level = 'info' | 'warn' | 'error'

/** Credentials in URLs (`https://user:secret@host`) never reach a log line or an event. */
export function redact(text: string): string {
  return text.replace(/(\w+:\/\/)[^\s/@]+@/g, '$1***@')
}

function write(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ t: new Date().toISOString(), level, scope: 'omoi:worker', msg, ...fields })
  process.stderr.write(redact(line) + '\n')
}

export const log = {
  info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields),
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
