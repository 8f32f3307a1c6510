/**
 * One structured logger, scoped per module: `const log = logger('omoi:actors')`.
 * Lines are JSON on stderr; OMOI_LOG_LEVEL (debug|info|warn|error|silent) filters them.
 */

type Level = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<Level | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

function threshold(): number {
  const wanted = (process.env.OMOI_LOG_LEVEL ?? 'info') as keyof typeof ORDER
  return ORDER[wanted] ?? ORDER.info
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

function errorFields(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack }
  return value
}

export function logger(scope: string): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < threshold()) return
    const extra: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(fields ?? {})) extra[k] = errorFields(v)
    process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level, scope, msg, ...extra }) + '\n')
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  }
}
