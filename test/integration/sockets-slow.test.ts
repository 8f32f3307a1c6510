import type { Socket as NetSocket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { transaction } from '../../src/db/connect.ts'
import { appendEvents } from '../../src/db/events.ts'
import { newUuid } from '../../src/ids.ts'
import { MAX_MESSAGE_BYTES, MAX_QUEUED_BYTES, queuedBytes, queuedPackets } from '../../src/sockets/backpressure.ts'
import { specRoom } from '../../src/sockets/rooms.ts'
import { MAX_FRAME_BYTES } from '../../src/sockets/too-large.ts'
import { asUser, type Api } from '../support/api.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { allEvents, startWithModel } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import type { TestServer } from '../support/server.ts'
import { connect, connected, SpecView, type TestSocket } from '../support/socket-client.ts'
import { waitFor } from '../support/wait.ts'

let server: TestServer
let model: FakeModel
let owner: Api
let specId: string
let projectId: string

/** The TCP socket under a socket.io-client WebSocket (ws's `_socket`): pausing it stops reading, as a stalled client. */
const tcpOf = (socket: TestSocket) => (socket.io.engine.transport as unknown as { ws: { _socket: NetSocket } }).ws._socket

async function viewer(batch = false): Promise<SpecView> {
  const socket = connect(server.url, { token: owner.token! })
  await connected(socket)
  const view = new SpecView(socket, specId, { batch })
  await view.join()
  return view
}

beforeAll(async () => {
  // the agent never gets an answer: the spec stays executing, and user messages are its only events
  ;({ server, model } = await startWithModel({ hang: () => true }))
  owner = await asUser(server.url, 'Owner')
  projectId = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body.id
  specId = (await owner.post('/specs/launch', { project_id: projectId, title: 'Chatty', description: 'many messages' })).body.spec_id
})
afterAll(async () => {
  // Ends the agent first: the server's close waits for the model call it proxies (which never ends here) and for the
  // worker's keep-alive connection.
  if (specId) await owner.post(`/specs/${specId}/cancel`)
  await model?.close()
  await server?.stop()
})

describe('a client that stops reading', () => {
  it('is dropped once the bytes queued for it pass the bound, while others get everything; it rejoins with after_seq', async () => {
    // batch viewers: a few large frames hold megabytes, so a bound on packets would let the queue grow far past this one
    const [healthy, stalled] = await Promise.all([viewer(true), viewer(true)])
    const onServer = server.io.of('/').sockets.get(stalled.socket.id!)!
    const dropped = new Promise<string>((resolve) => onServer.once('disconnect', resolve))
    let isDropped = false
    void dropped.then(() => (isDropped = true))
    tcpOf(stalled.socket).pause()

    let peak = 0
    let packets = 0
    const text = '€'.repeat(20_000) // 60 KB of UTF-8 per event: fewer events fill the kernel's buffers
    const round = 8
    for (let i = 0; !isDropped && i < 100; i++) {
      await Promise.all(Array.from({ length: round }, () => owner.post(`/specs/${specId}/messages`, { text })))
      if (!isDropped) {
        peak = Math.max(peak, queuedBytes(onServer))
        packets = Math.max(packets, queuedPackets(onServer))
      }
    }
    expect(await dropped).toBe('forced close')
    expect(peak).toBeGreaterThan(0)
    // checked before each delivery: at most one round's events beyond the bound
    expect(peak).toBeLessThanOrEqual(MAX_QUEUED_BYTES + round * 61_000)
    expect(packets).toBeLessThan(100)

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

  it('keeps a client that is still taking in a large replay while many small live events queue behind it', async () => {
    const draft = (await owner.post('/specs', { project_id: projectId, title: 'Big log', description: 'a long history' })).body.id
    const text = 'x'.repeat(1_000)
    for (let done = 0; done < 10_000; done += 2_500) {
      const part = Array.from({ length: 2_500 }, () => ({ id: newUuid(), type: 'agent.message', data: { text }, source: 'agent' as const }))
      await transaction(server.database.sql, (tx) => appendEvents(tx, draft, part))
    }
    const socket = connect(server.url, { token: owner.token! })
    await connected(socket)
    const view = new SpecView(socket, draft)
    let cut = false
    socket.once('disconnect', () => (cut = true))
    // not reading: the 10 MB join answer fills the kernel's buffers, and what follows waits in the server's queue
    tcpOf(socket).pause()
    const joined = view.join()
    const onServer = server.io.of('/').sockets.get(socket.id!)!
    const transport = () => onServer.conn.transport as unknown as { writable: boolean }
    await waitFor(() => onServer.rooms.has(specRoom(draft)) && !transport().writable, { what: 'the join answer being sent' })
    const live = []
    for (let i = 0; i < 150; i++) {
      const [event] = (await transaction(server.database.sql, (tx) => appendEvents(tx, draft, [{ id: newUuid(), type: 'agent.heartbeat', data: {}, source: 'agent' }]))).written
      server.host.bus.publish({ kind: 'events', specId: draft, events: [event!] })
      live.push(event!)
    }
    expect(queuedPackets(onServer)).toBeGreaterThan(100) // more packets than the old bound, a few KB
    tcpOf(socket).resume()
    expect((await joined).events).toHaveLength(10_000)
    await view.waitForCount(10_150)
    expect(view.stream.slice(10_000)).toEqual(live)
    expect(cut).toBe(false)
    socket.disconnect()
  }, 60_000)

  it('answers a message larger than the bound too_large and keeps the connection; a frame past the hard cap closes it', async () => {
    const socket = connect(server.url, { token: owner.token! })
    await connected(socket)
    const text = 'x'.repeat(MAX_MESSAGE_BYTES)
    const answer = await socket.timeout(10_000).emitWithAck('spec:command', { spec_id: specId, command: 'message', text })
    expect(answer).toMatchObject({ ok: false, error: { code: 'too_large' } })
    expect(socket.connected, 'the connection survives').toBe(true)
    expect(await socket.timeout(10_000).emitWithAck('spec:command', { spec_id: specId, command: 'message', text: 'still here' })).toMatchObject({ ok: true })
    expect((await allEvents(owner, specId)).some((e) => e.data.text === text)).toBe(false)

    const closed = new Promise<string>((resolve) => socket.once('disconnect', resolve))
    socket.emit('spec:command', { spec_id: specId, command: 'message', text: 'x'.repeat(MAX_FRAME_BYTES) }, () => {})
    expect(await closed).toBe('transport close')
  })
})
