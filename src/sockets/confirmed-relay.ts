import { logger } from '../log.ts'

const log = logger('omoi:sockets')

/** How often a relay some node did not confirm is sent again (each send waits up to the adapter's 5 s). */
const RELAY_REPEATS = 6

/** Sends of one relay are this far apart at the least: a send the adapter answers at once does not use up the repeats. */
const RELAY_PACE_MS = 5_000

/**
 * Sends `emit` to the cluster's nodes and answers once each has confirmed (ids in the array the send answers), or
 * the adapter gave up waiting (5 s). The nodes that did not confirm are sent it again in the background, up to
 * RELAY_REPEATS times, with the ids of those that did (`confirmed`, which only ack).
 *
 * For what a node must not miss: a revocation. The PostgreSQL adapter's NOTIFYs never reach a node while its LISTEN
 * connection is being re-established (@socket.io/postgres-adapter reconnects 1–3 s after losing it: a database
 * restart, a network blip), and that node is alive: a single send would leave it serving what was revoked.
 *
 * The adapter also answers without an error when it dropped a node it waited for (nothing heard from it for its
 * heartbeat timeout), and at once with nothing when it lists no other node. That is a dying node, or a live one this
 * node could not hear: its own LISTEN connection down (a database restart drops every node from every list). So a
 * send counts as confirmed only once as many nodes confirmed as `nodes()` (the adapter's `serverCount()`, this node
 * included) listed at any send of this relay; a node that died is sent it again until the repeats run out.
 */
export class ConfirmedRelay {
  private closed = false

  constructor(
    private readonly nodeId: string,
    private readonly nodes: () => Promise<number>,
    private readonly paceMs = RELAY_PACE_MS,
  ) {}

  async send(what: string, emit: (confirmed: readonly string[]) => Promise<string[]>, context: Record<string, unknown>): Promise<void> {
    const confirmed = new Set([this.nodeId])
    let listed = 1
    const attempt = async (): Promise<boolean> => {
      listed = Math.max(listed, await this.nodes().catch(() => 1))
      try {
        for (const node of await emit([...confirmed])) confirmed.add(node)
        return confirmed.size >= listed
      } catch (err) {
        // the adapter's timeout carries the answers that came
        for (const node of (err as { responses?: string[] }).responses ?? []) confirmed.add(node)
        return false
      }
    }
    let started = Date.now()
    if (await attempt()) return
    log.warn(`a node did not confirm ${what} in time; relaying it again`, context)
    void (async () => {
      for (let repeat = 0; repeat < RELAY_REPEATS && !this.closed; repeat++) {
        const wait = started + this.paceMs - Date.now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref())
        if (this.closed) return
        started = Date.now()
        if (await attempt()) return
      }
      if (!this.closed) log.error(`a node never confirmed ${what}`, { ...context, confirmed: [...confirmed], listed })
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
