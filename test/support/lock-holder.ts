import { withMachineLock } from '../../src/machine-lock.ts'

/**
 * A process that takes the machine lock named by argv[2], says 'held' to its parent, and releases it when the parent
 * says so (test/integration/machine-lock.test.ts).
 */
await withMachineLock(process.argv[2]!, () => new Promise<void>((resolve) => {
  process.once('message', () => resolve())
  process.send!('held')
}))
process.send!('released', () => process.disconnect())
