import { describe, expect, it } from 'vitest'
import { MinHeap } from '../../src/actors/min-heap.ts'

describe('MinHeap', () => {
  it('pops its numbers smallest first, duplicates included, then undefined', () => {
    const numbers = Array.from({ length: 500 }, (_, i) => (i * 7919) % 211)
    const heap = new MinHeap(numbers.slice(0, 250))
    for (const n of numbers.slice(250)) heap.push(n)
    const popped: number[] = []
    for (let n = heap.pop(); n !== undefined; n = heap.pop()) popped.push(n)
    expect(popped).toEqual([...numbers].sort((a, b) => a - b))
    expect(heap.pop()).toBeUndefined()
  })
})
