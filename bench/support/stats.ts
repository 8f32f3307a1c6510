import { cpus, loadavg } from 'node:os'

/** Small numeric helpers shared by the benchmarks. */

/** The q-quantile (0..1) of `values` by nearest rank; NaN when empty. */
export function quantile(values: number[] | Float64Array, q: number): number {
  if (values.length === 0) return NaN
  const sorted = Float64Array.from(values).sort()
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]!
}

export const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN)

/** `12345.6` → `12,346`; small numbers keep `digits` decimals. */
export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return String(n)
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US')
  return n.toFixed(digits)
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A wall-clock timestamp in ms with sub-millisecond resolution, comparable across processes on one machine. */
export const nowMs = () => performance.timeOrigin + performance.now()

export const median = (values: number[]) => quantile(values, 0.5)

/** The machine's 1-minute load average and core count: this machine is shared, and other work moves the figures. */
export function loadNote(): string {
  return `load average ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores at the end`
}
