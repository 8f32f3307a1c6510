/** Runs async jobs one after another; `idle()` resolves when everything queued so far has run. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve()

  push<T>(job: () => Promise<T>): Promise<T> {
    const run = this.tail.then(job, job)
    this.tail = run.catch(() => {})
    return run
  }

  idle(): Promise<void> {
    return this.tail.then(() => {})
  }
}

/** A counting semaphore: the node-wide limit on task sandboxes. */
export class Semaphore {
  private waiting: (() => void)[] = []
  private used = 0

  constructor(private readonly size: number) {}

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.used >= this.size) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener('abort', abort)
          resolve()
        }
        const abort = () => {
          this.waiting = this.waiting.filter((w) => w !== wake)
          reject(signal!.reason)
        }
        this.waiting.push(wake)
        signal?.addEventListener('abort', abort, { once: true })
      })
    } else {
      this.used++
    }
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      if (next) next()
      else this.used--
    }
  }
}
