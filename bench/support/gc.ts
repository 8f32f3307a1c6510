import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * This process's garbage collector, also when it was started without `--expose-gc` (a bench file run on its own, not
 * through bench/run.ts): the flag is set at run time and `gc` read from a fresh context, which sees it.
 */
export function getGc(): (options?: { type: 'major' | 'minor' }) => void {
  const g = (globalThis as { gc?: (options?: { type: 'major' | 'minor' }) => void }).gc
  if (g) return g
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as (options?: { type: 'major' | 'minor' }) => void
}
