/** The most ended sandbox ids remembered (a node ends a few hundred an hour); the oldest are forgotten first. */
const REMEMBERED = 10_000

/**
 * This node's word that a sandbox has ended, keyed by sandbox id: the runner says so the moment it stops its sandbox,
 * before the end is stored, and the model proxy's calls of that sandbox are aborted at once. Another node learns of
 * the end only from the database (the proxy polls it as well).
 */
export class SandboxEnds {
  private ended = new Set<string>()
  private watching = new Map<string, Set<AbortController>>()

  /** Marks the sandbox ended on this node and aborts every signal handed out for it. */
  end(sandboxId: string): void {
    if (this.ended.size >= REMEMBERED) this.ended.delete(this.ended.values().next().value!)
    this.ended.add(sandboxId)
    for (const controller of this.watching.get(sandboxId) ?? []) controller.abort()
    this.watching.delete(sandboxId)
  }

  /** Whether this node ended the sandbox. */
  hasEnded(sandboxId: string): boolean {
    return this.ended.has(sandboxId)
  }

  /**
   * A signal aborted when this node ends the sandbox (already aborted if it has). Call `release` once done with it,
   * so nothing is kept for a sandbox that goes on running.
   */
  watch(sandboxId: string): { signal: AbortSignal; release: () => void } {
    const controller = new AbortController()
    if (this.ended.has(sandboxId)) {
      controller.abort()
      return { signal: controller.signal, release: () => {} }
    }
    const set = this.watching.get(sandboxId) ?? new Set()
    set.add(controller)
    this.watching.set(sandboxId, set)
    return {
      signal: controller.signal,
      release: () => {
        set.delete(controller)
        if (set.size === 0 && this.watching.get(sandboxId) === set) this.watching.delete(sandboxId)
      },
    }
  }
}
