import { tmpdir } from 'node:os'
import { loadConfig } from '../../src/config.ts'
import type { Database } from '../../src/db/connect.ts'
import { startServer, type RunningServer } from '../../src/server.ts'
import { freshDatabase } from './db.ts'
import { removeTempDir, tempDir } from './temp.ts'

export interface TestServer extends RunningServer {
  dataDir: string
  /** Closes the server and its database, and removes the data directory it made. */
  stop(): Promise<void>
}

/** The real server on a free port with a fresh database (or the one given) and a temporary data directory. */
export async function startTestServer(
  env: Record<string, string> = {},
  options: { database?: Database; dataDir?: string } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await tempDir('data'))
  const database = options.database ?? (await freshDatabase())
  // test repositories are made in the system's temporary directory (test/support/repo.ts)
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', OMOI_DATA_DIR: dataDir, OMOI_REPO_ROOTS: `${dataDir}:${tmpdir()}`, ...env })
  const server = await startServer(config, { database })
  return {
    ...server,
    dataDir,
    async stop() {
      await server.close()
      if (!options.database) await database.close()
      if (!options.dataDir) await removeTempDir(dataDir)
    },
  }
}
