import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { BwrapIsolation } from '../../src/sandbox/bwrap.ts'
import { callbackDir } from '../../src/sandbox/callback-socket.ts'
import { probeBwrap } from '../../src/sandbox/probe.ts'
import { hostAddress } from '../support/net-probe.ts'
import { waitFor } from '../support/wait.ts'
import { startWorkerHarness } from '../support/worker-harness.ts'

/**
 * A bubblewrap sandbox on the nat network calls the server back over a sandbox socket of its data directory; when no
 * server answers there (every node of its machine is down), it falls back to OMOI_PUBLIC_URL, behind which a node of
 * another machine serves it — but only when its network reaches that URL: never one on loopback.
 */

const nat: BwrapIsolation | null = await probeBwrap('nat').catch(() => null)
const missing = !nat ? 'bubblewrap and slirp4netns (apt-get install -y bubblewrap slirp4netns)' : !hostAddress ? 'a non-loopback IPv4 address' : null
if (missing) console.warn(`sandbox-failover.test.ts skipped: it needs ${missing}`)

const FALLBACK_LINE = 'no server answers on a sandbox socket: calling back on the public URL'

/** Runs `fn` with a worker harness whose sandboxes are confined on the nat network and whose public URL is on `host`. */
async function withHarness(host: string, fn: (h: Awaited<ReturnType<typeof startWorkerHarness>>) => Promise<void>): Promise<void> {
  const harness = await startWorkerHarness({}, { isolation: nat!, publicOn: host })
  try {
    await fn(harness)
  } finally {
    await harness.close()
  }
}

describe.skipIf(missing)('a bubblewrap sandbox on the nat network', () => {
  it('calls back on the public URL (this machine’s other address) when no sandbox socket answers: events, result and model calls arrive there', async () => {
    await withHarness(hostAddress!, async (h) => {
      // the machine's servers are gone: the live socket closed, a killed one's socket left behind
      await h.socket.closeSocket()
      await writeFile(join(callbackDir(h.dataDir), 'killed.sock'), '')
      const run = await h.launch({ viaProxy: true })
      await h.exited(run.handle)

      expect(run.api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: true } })
      expect(run.api.results).toEqual([expect.objectContaining({ outcome: 'submitted' })])
      expect(run.requests().length).toBeGreaterThan(0)
      const seen = h.publicApi!.seen
      expect(seen).toContainEqual(expect.stringMatching(/^GET \/api\/v1\/sandboxes\/sbx_model\d+\/assignment$/))
      expect(seen).toContainEqual(expect.stringMatching(/^POST \/api\/v1\/sandboxes\/sbx_model\d+\/model\/v1\/messages/))
      expect(seen).toContainEqual(expect.stringMatching(/^POST \/api\/v1\/sandboxes\/sbx_model\d+\/result$/))
      // said once in the worker's log, not at every call
      expect((await run.log()).split(FALLBACK_LINE)).toHaveLength(2)
    })
  }, 60_000)

  it('prefers a live sandbox socket to the public URL, and fails over to it when that server goes away mid-run', async () => {
    await withHarness(hostAddress!, async (h) => {
      h.model.setScenario({ delayMs: 400 })
      const run = await h.launch({ viaProxy: true })
      await waitFor(() => run.requests().length >= 1 && run.api.types().includes('agent.started'), { what: 'the first model call and event' })
      expect(h.publicApi!.seen, 'requests at the public URL while a socket answers').toEqual([])

      await h.socket.closeSocket()
      await h.exited(run.handle)
      expect(run.api.events.at(-1)).toMatchObject({ type: 'agent.completed', data: { accepted: true } })
      expect(h.publicApi!.seen).toContainEqual(expect.stringMatching(/\/result$/))
      expect(await run.log()).toContain(FALLBACK_LINE)
    })
  }, 60_000)

  it('never falls back to a public URL on loopback, which its network cannot reach: it retries the socket', async () => {
    await withHarness('127.0.0.1', async (h) => {
      await h.socket.closeSocket()
      const run = await h.launch({ viaProxy: true })
      await waitFor(async () => (await run.log()).split('callback failed, retrying').length > 3, { what: 'three failed callbacks', timeoutMs: 30_000 })
      expect(h.publicApi!.seen).toEqual([])
      expect(run.api.events).toEqual([])
      expect(await run.log()).not.toContain(FALLBACK_LINE)
    })
  }, 60_000)
})
