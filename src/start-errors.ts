import { constants } from 'node:fs'
import { access, mkdir } from 'node:fs/promises'
import { ConfigError, type Config } from './config.ts'

/**
 * Start-up failures caused by a setting, turned into a ConfigError whose one-line message names that setting
 * (main.ts prints it and exits 1). Anything else is rethrown unchanged.
 */

const reason = (err: unknown): string => {
  const e = err as { code?: unknown; message?: unknown }
  const code = typeof e?.code === 'string' ? e.code : undefined
  const message = typeof e?.message === 'string' ? e.message.split('\n')[0]! : String(err)
  return code && !message.includes(code) ? `${code}: ${message}` : message
}

/** OMOI_DATA_DIR must exist (it is created) and be writable. */
export async function checkDataDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
    await access(dir, constants.W_OK)
  } catch (err) {
    throw new ConfigError(`invalid setting OMOI_DATA_DIR: ${dir} is not writable (${reason(err)})`)
  }
}

/** The database at DATABASE_URL did not answer; the message shows where it was looked for, never the password. */
export function databaseUnreachable(url: string, err: unknown): ConfigError {
  let where = 'the database'
  try {
    const u = new URL(url)
    where = `${u.hostname}:${u.port || 5432}${u.pathname}`
  } catch {
    // validated as postgres:// already; keep the generic words
  }
  return new ConfigError(`invalid setting DATABASE_URL: cannot reach the database at ${where} (${reason(err)})`)
}

/** listen() failed: a port in use or forbidden names PORT, anything else (no such address here, bad name) names HOST. */
export function listenFailed(config: Pick<Config, 'host' | 'port'>, err: unknown): ConfigError {
  const code = (err as { code?: string })?.code
  if (code === 'EADDRINUSE') return new ConfigError(`invalid setting PORT: port ${config.port} on ${config.host} is already in use`)
  if (code === 'EACCES' && config.port < 1024) {
    return new ConfigError(`invalid setting PORT: port ${config.port} needs privileges this process does not have`)
  }
  return new ConfigError(`invalid setting HOST: cannot listen on ${config.host}:${config.port} (${reason(err)})`)
}
