import type { SpecEvent } from '../schemas/events.ts'
import type { SpecRow } from '../db/specs.ts'

/**
 * What the actor host hands to the real-time layer, always after the commit: the events just written (in seq order),
 * the spec as it now stands, and each actor transition (for the admin namespace).
 */
export type SpecBusMessage =
  | { kind: 'events'; specId: string; events: SpecEvent[] }
  | { kind: 'state'; specId: string; spec: SpecRow }
  | { kind: 'transition'; specId: string; from: string; to: string; event: string; at: string }

export type SpecBusListener = (message: SpecBusMessage) => void

export class SpecBus {
  private listeners = new Set<SpecBusListener>()
  /** Told how long each publish took (every listener, in seconds): the fan-out time of the metrics. */
  timing: ((message: SpecBusMessage, seconds: number) => void) | undefined

  subscribe(listener: SpecBusListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  publish(message: SpecBusMessage): void {
    const started = this.timing ? performance.now() : 0
    for (const listener of this.listeners) {
      try {
        listener(message)
      } catch {
        // a broken subscriber must not stop the others or the writer
      }
    }
    this.timing?.(message, (performance.now() - started) / 1000)
  }
}
