/** A binary min-heap of numbers: `push` and `pop` (the smallest, or undefined when empty) in O(log n). */
export class MinHeap {
  private items: number[] = []

  constructor(items: Iterable<number> = []) {
    for (const item of items) this.push(item)
  }

  push(item: number): void {
    const a = this.items
    a.push(item)
    for (let i = a.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1
      if (a[parent]! <= a[i]!) break
      ;[a[parent], a[i]] = [a[i]!, a[parent]!]
      i = parent
    }
  }

  pop(): number | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length === 0 || last === undefined) return top
    a[0] = last
    for (let i = 0; ; ) {
      const left = 2 * i + 1
      const right = left + 1
      let least = i
      if (left < a.length && a[left]! < a[least]!) least = left
      if (right < a.length && a[right]! < a[least]!) least = right
      if (least === i) break
      ;[a[least], a[i]] = [a[i]!, a[least]!]
      i = least
    }
    return top
  }
}
