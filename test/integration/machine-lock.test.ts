import { fork, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { withMachineLock } from '../../src/machine-lock.ts'

/**
 * The lock the nodes of a cluster sharing one data directory take around a repository mirror's fetch
 * (src/actors/repo-mirror.ts): held by another process, it waits; freed however that process ends.
 */
const HOLDER = fileURLToPath(new URL('../support/lock-holder.ts', import.meta.url))
/** How long the waiting side is given to (wrongly) get in while the other process holds the lock. */
const WRONG_ENTRY_WINDOW_MS = 300

function holder(key: string): Promise<ChildProcess> {
  const child = fork(HOLDER, [key], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return new Promise((resolve, reject) => {
    child.once('message', (m) => (m === 'held' ? resolve(child) : reject(new Error(`unexpected ${String(m)}`))))
    child.once('exit', (code) => reject(new Error(`the holder exited (${code}) before it held the lock`)))
  })
}

const message = (child: ChildProcess, expected: string) =>
  new Promise<void>((resolve) => child.on('message', (m) => m === expected && resolve()))

describe('a lock shared by the processes of one machine', () => {
  it('is waited for while another process holds it, and taken once it lets go', async () => {
    const key = `test:${randomUUID()}`
    const child = await holder(key)
    const order: string[] = []
    const released = message(child, 'released').then(() => order.push('released'))
    const mine = withMachineLock(key, async () => void order.push('mine'))
    await new Promise((resolve) => setTimeout(resolve, WRONG_ENTRY_WINDOW_MS))
    expect(order, 'got in while the other process held the lock').toEqual([])
    child.send('release')
    await Promise.all([released, mine])
    expect(order).toEqual(['released', 'mine'])
  })

  it('is freed when its holder is killed', async () => {
    const key = `test:${randomUUID()}`
    const child = await holder(key)
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    expect(await withMachineLock(key, async () => 'taken')).toBe('taken')
  })

  it('is released when the work fails, and passes the failure on', async () => {
    const key = `test:${randomUUID()}`
    await expect(withMachineLock(key, async () => Promise.reject(new Error('fetch failed')))).rejects.toThrow('fetch failed')
    expect(await withMachineLock(key, async () => 'taken again')).toBe('taken again')
  })
})
