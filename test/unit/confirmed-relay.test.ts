import { describe, expect, it } from 'vitest'
import { ConfirmedRelay } from '../../src/sockets/confirmed-relay.ts'

/**
 * ConfirmedRelay against what the cluster adapter (socket.io-adapter 2.5 ClusterAdapterWithHeartbeat, which
 * @socket.io/postgres-adapter 0.5 extends) answers to serverSideEmitWithAck: besides "every node answered" and the 5 s
 * timeout, it answers WITHOUT an error when a node it waited for was dropped from its list (`removeNode`: nothing heard
 * from it for heartbeatTimeout), and at once with [] when its list is empty. A sender whose own LISTEN connection is
 * being re-established (or a database restart) hears no heartbeats: after 4 s it drops every other node, although
 * they are alive, and may have missed the NOTIFY just as well.
 */

/** A promise the test settles. */
function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

describe('ConfirmedRelay', () => {
  it('sends again to a node the adapter dropped from its list (heard nothing from it) instead of taking the drop for a confirmation', async () => {
    // the sender's adapter: the nodes it lists (itself included), as `serverCount()` answers
    let listed = 2
    const bActed = deferred<readonly string[]>()
    const calls: (readonly string[])[] = []
    const relay = new ConfirmedRelay('node-a', () => Promise.resolve(listed), 1)
    const emit = async (confirmed: readonly string[]): Promise<string[]> => {
      calls.push(confirmed)
      switch (calls.length) {
        case 1:
          // node-b missed the NOTIFY (its LISTEN connection was being re-established), and node-a, deaf as well, did
          // not hear from it for the heartbeat timeout: the adapter drops node-b and answers the request, no error
          listed = 1
          return []
        case 2:
          // still deaf: an empty list, answered at once
          listed = 2 // node-b's heartbeats are heard again
          return []
        default:
          // node-b hears this one and acts (it is not among the confirmed)
          if (!confirmed.includes('node-b')) bActed.resolve(confirmed)
          return ['node-b']
      }
    }
    await relay.send('a revocation', emit, {})
    expect(await bActed.promise).toEqual(['node-a'])
    relay.close()
  }, 10_000)

  it('is done at the first send every listed node confirmed', async () => {
    const relay = new ConfirmedRelay('node-a', () => Promise.resolve(3), 1)
    const calls: (readonly string[])[] = []
    await relay.send('a revocation', async (confirmed) => (calls.push(confirmed), ['node-b', 'node-c']), {})
    expect(calls).toEqual([['node-a']])
    relay.close()
  })
})
