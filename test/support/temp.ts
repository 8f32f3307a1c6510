import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Temporary directories of a test file. Every one made here is removed when it is given back, or at the latest after
 * the file's last test (test/support/cleanup.ts hooks that in for every file), so a run leaves nothing in /tmp.
 */
const made = new Set<string>()

/** A new directory `/tmp/omoi-<prefix>-XXXXXX`, removed after the file's tests. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `omoi-${prefix}-`))
  made.add(dir)
  return dir
}

/** Removes one directory made by `tempDir` now (a worker still writing into it gets a few retries). */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
  made.delete(dir)
}

/** Removes every directory `tempDir` made that is still there. */
export async function removeTempDirs(): Promise<void> {
  await Promise.all([...made].map(removeTempDir))
}
