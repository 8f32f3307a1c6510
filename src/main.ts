import { ConfigError, loadConfig } from './config.ts'
import { logger } from './log.ts'

const log = logger('omoi:main')

/** `npm start`: read the settings, start everything, print the URL, shut down gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  // A closed terminal or pipe (npm exiting first on SIGTERM) must not turn a graceful shutdown into a crash.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`omoi: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
  for (const warning of config.warnings) process.stderr.write(`omoi: warning: ${warning}\n`)
  // imported only once the settings are known to be good: a wrong one is reported without loading the whole server
  const { startServer } = await import('./server.ts')
  const server = await startServer(config)
  process.stdout.write(`omoi is running at ${config.publicUrl ?? server.url}\n`)

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info('shutting down', { signal })
    const force = setTimeout(() => process.exit(1), 15_000)
    force.unref()
    await server.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`omoi: ${err.message}\n`)
    process.exit(1)
  }
  process.stderr.write(`omoi: could not start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
