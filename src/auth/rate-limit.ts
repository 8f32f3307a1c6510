/**
 * A fixed-window counter per key (login: email + address). In memory, per node: enough to slow a password guesser,
 * and nothing to clean up but expired windows.
 */
export class RateLimiter {
  private windows = new Map<string, { count: number; resetAt: number }>()

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one attempt; returns the seconds to wait when over the limit, else 0. */
  hit(key: string, now = Date.now()): number {
    if (this.windows.size > 10_000) this.sweep(now)
    const w = this.windows.get(key)
    if (!w || w.resetAt <= now) {
      this.windows.set(key, { count: 1, resetAt: now + this.windowMs })
      return 0
    }
    w.count++
    return w.count > this.limit ? Math.ceil((w.resetAt - now) / 1000) : 0
  }

  reset(key: string): void {
    this.windows.delete(key)
  }

  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k)
  }
}
