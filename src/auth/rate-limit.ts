/**
 * Attempt limits for login and signup, in memory, per node: enough to slow a password guesser or a signup flood, and
 * nothing to clean up but idle keys. Times are milliseconds; answers are the seconds to wait (0: go ahead).
 */

const SWEEP_ABOVE = 10_000

/** A token bucket per key: `capacity` attempts at once, then one more every `refillMs`. */
export class TokenBucket {
  private buckets = new Map<string, { tokens: number; at: number }>()

  constructor(
    private readonly capacity: number,
    private readonly refillMs: number,
  ) {}

  /** Takes one attempt; answers the seconds to wait when the bucket is empty (nothing is taken then). */
  take(key: string, now = Date.now()): number {
    if (this.buckets.size > SWEEP_ABOVE) this.sweep(now)
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) / this.refillMs)
    bucket.at = now
    this.buckets.set(key, bucket)
    if (bucket.tokens < 1) return Math.ceil(((1 - bucket.tokens) * this.refillMs) / 1000)
    bucket.tokens -= 1
    return 0
  }

  private sweep(now: number): void {
    for (const [key, b] of this.buckets) if (b.tokens + (now - b.at) / this.refillMs >= this.capacity) this.buckets.delete(key)
  }
}

/**
 * Failed attempts per key: after `free` failures each further one makes the key wait `baseMs`, then twice as long,
 * up to `maxMs`. A success clears the key; so does `forgetMs` without a failure. Keyed by address and email, a
 * stranger elsewhere cannot lock anyone out, and a typo costs seconds, not a quarter of an hour.
 */
export class Backoff {
  private keys = new Map<string, { failures: number; until: number; last: number }>()

  constructor(private readonly options: { free: number; baseMs: number; maxMs: number; forgetMs: number }) {}

  /** Seconds this key must still wait before its next attempt. */
  wait(key: string, now = Date.now()): number {
    const entry = this.entry(key, now)
    return entry && entry.until > now ? Math.ceil((entry.until - now) / 1000) : 0
  }

  fail(key: string, now = Date.now()): void {
    if (this.keys.size > SWEEP_ABOVE) this.sweep(now)
    const entry = this.entry(key, now) ?? { failures: 0, until: 0, last: now }
    entry.failures++
    entry.last = now
    const over = entry.failures - this.options.free
    if (over >= 0) entry.until = now + Math.min(this.options.maxMs, this.options.baseMs * 2 ** over)
    this.keys.set(key, entry)
  }

  succeed(key: string): void {
    this.keys.delete(key)
  }

  private entry(key: string, now: number) {
    const entry = this.keys.get(key)
    if (entry && now - entry.last > this.options.forgetMs && entry.until <= now) {
      this.keys.delete(key)
      return undefined
    }
    return entry
  }

  private sweep(now: number): void {
    for (const key of [...this.keys.keys()]) this.entry(key, now)
  }
}
