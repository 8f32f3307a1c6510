import type { Socket as NetSocket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_MESSAGE_BYTES, MAX_QUEUED_PACKETS, queuedPackets } from '../../src/sockets/backpressure.ts'
import { asUser, type Api } from '../support/api.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { allEvents, startWithModel } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import type { TestServer } from '../support/server.ts'
import { connect, connected, SpecView, type TestSocket } from '../support/socket-client.ts'

let server: TestServer
let model: FakeModel
let owner: Api
let specId: string

/** The TCP socket under a socket.io-client WebSocket (ws's `_socket`): pausing it stops reading, as a stalled client. */
const tcpOf = (socket: TestSocket) => (socket.io.engine.transport as unknown as { ws: { _socket: NetSocket } }).ws._socket

async function viewer(): Promise<SpecView> {
  const socket = connect(server.url, { token: owner.token! })
  await connected(socket)
  const view = new SpecView(socket, specId)
  await view.join()
  return view
}

beforeAll(async () => {
  // the agent never gets an answer: the spec stays executing, and user messages are its only events
  ;({ server, model } = await startWithModel({ hang: () => true }))
  owner = await asUser(server.url, 'Owner')
  const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
  specId = (await owner.post('/specs/launch', { project_id: project.id, title: 'Chatty', description: 'many messages' })).body.spec_id
})
afterAll(async () => {
  // Ends the agent first: the server's close waits for the model call it proxies (which never ends here) and for the
  // worker's keep-alive connection.
  if (specId) await owner.post(`/specs/${specId}/cancel`)
  await model?.close()
  await server?.stop()
})

describe('a client that stops reading', () => {
  it('is dropped once its queue passes the bound, while others get everything; it rejoins with after_seq', async () => {
    const [healthy, stalled] = await Promise.all([viewer(), viewer()])
    const onServer = server.io.of('/').sockets.get(stalled.socket.id!)!
    const dropped = new Promise<string>((resolve) => onServer.once('disconnect', resolve))
    let isDropped = false
    void dropped.then(() => (isDropped = true))
    tcpOf(stalled.socket).pause()

    let peak = 0
    const text = '€'.repeat(20_000) // 60 KB of UTF-8 per event: fewer events fill the kernel's buffers
    for (let round = 0; !isDropped && round < 100; round++) {
      await Promise.all(Array.from({ length: 8 }, () => owner.post(`/specs/${specId}/messages`, { text })))
      if (!isDropped) peak = Math.max(peak, queuedPackets(onServer))
    }
    expect(await dropped).toBe('forced close')
    expect(peak).toBeGreaterThan(0)
    expect(peak).toBeLessThanOrEqual(MAX_QUEUED_PACKETS + 1)

    const log = await healthy.settle(() => allEvents(owner, specId))
    expect(healthy.stream).toEqual(log)

    // the stalled client reads what reached it, notices the hang-up, and catches up from its last seq
    const gone = new Promise((resolve) => stalled.socket.once('disconnect', resolve))
    tcpOf(stalled.socket).resume()
    await gone
    const seen = stalled.lastSeq
    expect(seen).toBeLessThan(log.at(-1)!.seq)
    await connected(stalled.socket)
    await stalled.join(seen)
    expect(stalled.stream).toEqual(await stalled.settle(() => allEvents(owner, specId)))
    for (const v of [healthy, stalled]) v.socket.disconnect()
  }, 60_000)

  it('cannot send a message larger than the bound', async () => {
    const socket = connect(server.url, { token: owner.token! })
    await connected(socket)
    const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve))
    socket.emit('spec:command', { spec_id: specId, command: 'message', text: 'x'.repeat(MAX_MESSAGE_BYTES) }, () => {})
    expect(await closed).toBe('transport close')
    expect((await allEvents(owner, specId)).some((e) => e.data.text === 'x'.repeat(MAX_MESSAGE_BYTES))).toBe(false)
  })
})
