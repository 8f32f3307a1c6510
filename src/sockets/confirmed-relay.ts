import { logger } from '../log.ts'

const log = logger('omoi:sockets')

/** How often a relay some node did not confirm is sent again (each send waits up to the adapter's 5 s). */
export const RELAY_REPEATS = 6

/**
 * Sends `emit` to the cluster's nodes and answers once each has confirmed (ids in the array the send answers), or
 * the adapter gave up waiting (5 s). The nodes that did not confirm are sent it again in the background, up to
 * RELAY_REPEATS times, with the ids of those that did (`confirmed`, which only ack).
 *
 * For what a node must not miss: a revocation. The PostgreSQL adapter's NOTIFYs never reach a node while its LISTEN
 * connection is being re-established (@socket.io/postgres-adapter reconnects 1–3 s after losing it: a database
 * restart, a network blip), and that node is alive: a single send would leave it serving what was revoked. A node that
 * is dying is dropped from the adapter's list after its heartbeat timeout, and the next send stops waiting for it.
 */
export class ConfirmedRelay {
  private closed = false

  constructor(private readonly nodeId: string) {}

  async send(what: string, emit: (confirmed: readonly string[]) => Promise<string[]>, context: Record<string, unknown>): Promise<void> {
    const confirmed = new Set([this.nodeId])
    const attempt = async (): Promise<boolean> => {
      try {
        for (const node of await emit([...confirmed])) confirmed.add(node)
        return true
      } catch (err) {
        // the adapter's timeout carries the answers that came
        for (const node of (err as { responses?: string[] }).responses ?? []) confirmed.add(node)
        return false
      }
    }
    if (await attempt()) return
    log.warn(`a node did not confirm ${what} in time; relaying it again`, context)
    void (async () => {
      for (let repeat = 0; repeat < RELAY_REPEATS && !this.closed; repeat++) if (await attempt()) return
      if (!this.closed) log.error(`a node never confirmed ${what}`, context)
    })()
  }

  /** The node is shutting down: nothing is sent again. */
  close(): void {
    this.closed = true
  }

  /**
   * The receiving side: runs `act` unless this node is among `confirmed` (it did its part at an earlier send), then
   * acks with this node's id.
   */
  receive(confirmed: readonly string[], done: (nodeId: string) => void, act: () => void): void {
    if (!confirmed.includes(this.nodeId)) act()
    done(this.nodeId)
  }
}
