import { describe, expect, it } from 'vitest'
import { STALLED_READ_MS, TurnBatch } from '../../src/db/turn-batch.ts'

/** Session lookups go through TurnBatch (src/auth/sessions.ts): a failed or stuck read must not stop the next ones. */

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

describe('TurnBatch', () => {
  it('reads the keys of one turn together, a key asked twice once, in parts of at most maxKeys', async () => {
    const reads: string[][] = []
    const batch = new TurnBatch<string, string>(async (keys) => {
      reads.push(keys)
      return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, k.toUpperCase()]))
    }, 2)
    const answers = await Promise.all(['a', 'b', 'a', 'c', 'missing'].map((k) => batch.load(k)))
    expect(answers).toEqual(['A', 'B', 'A', 'C', undefined])
    expect(reads).toEqual([['a', 'b'], ['c', 'missing']])
  })

  it('answers a key asked while a read is in flight with a read started after it (a revocation in between is seen)', async () => {
    const reads: string[][] = []
    let release = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    const batch = new TurnBatch<string, number>(async (keys) => {
      const version = reads.push(keys)
      if (version === 1) await gate
      return new Map(keys.map((k) => [k, version]))
    })
    const first = batch.load('s')
    await nextTurn() // its read is in flight
    const later = [batch.load('s'), batch.load('t')]
    await nextTurn()
    await nextTurn()
    expect(reads).toEqual([['s']]) // the later ones wait for it
    release()
    expect(await first).toBe(1)
    expect(await Promise.all(later)).toEqual([2, 2])
    expect(reads).toEqual([['s'], ['s', 't']])
  })

  it('fails the callers of a read that rejects or throws, and reads again for the next ones', async () => {
    let calls = 0
    const batch = new TurnBatch<string, number>((keys) => {
      calls++
      if (calls === 1) return Promise.reject(new Error('connection lost'))
      if (calls === 2) throw new Error('bad query')
      return Promise.resolve(new Map(keys.map((k) => [k, calls])))
    })
    await expect(batch.load('a')).rejects.toThrow('connection lost')
    await expect(batch.load('b')).rejects.toThrow('bad query')
    await expect(batch.load('c')).resolves.toBe(3)
  })

  it(`does not let a read that never ends hold the next batch back for more than ${STALLED_READ_MS} ms`, async () => {
    let calls = 0
    const batch = new TurnBatch<string, number>((keys) => (++calls === 1 ? new Promise(() => {}) : Promise.resolve(new Map(keys.map((k) => [k, calls])))))
    void batch.load('stuck')
    await nextTurn()
    const started = performance.now()
    expect(await batch.load('next')).toBe(2)
    expect(performance.now() - started).toBeGreaterThanOrEqual(STALLED_READ_MS - 5)
  })
})
