import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { allEvents, startWithModel, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import type { TestServer } from '../support/server.ts'
import { ask, Collector, connect, connected, refused, seqs, SpecView, type TestSocket } from '../support/socket-client.ts'
import { PRESENCE_INTERVAL_MS } from '../../src/sockets/presence.ts'
import type { SpecEvent } from '../../src/schemas/events.ts'
import type { Presence, PresenceDelta, Viewer } from '../../src/sockets/types.ts'
import { BATCH_MAX_EVENTS } from '../../src/sockets/feed.ts'
import { transaction } from '../../src/db/connect.ts'
import { appendEvents } from '../../src/db/events.ts'
import { newUuid } from '../../src/ids.ts'

let server: TestServer
let model: FakeModel
let owner: Api
let member: Api
let outsider: Api
let projectId: string
const sockets: TestSocket[] = []

/** A connected socket of this user, closed after the file. */
async function socketOf(user: Api): Promise<TestSocket> {
  const socket = connect(server.url, { token: user.token! })
  sockets.push(socket)
  await connected(socket)
  return socket
}

const launch = async (title: string, approval: 'auto' | 'manual' = 'auto') => {
  const res = await owner.post('/specs/launch', { project_id: projectId, title, description: `${title}, please`, approval })
  expect(res.status).toBe(201)
  return res.body.spec_id as string
}

beforeAll(async () => {
  ;({ server, model } = await startWithModel({ delayMs: 60 }))
  ;[owner, member, outsider] = await Promise.all([asUser(server.url, 'Owner'), asUser(server.url, 'Member'), asUser(server.url, 'Outsider')])
  projectId = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body.id
  expect((await owner.post(`/projects/${projectId}/members`, { email: member.user!.email, role: 'viewer' })).status).toBe(201)
})
afterAll(async () => {
  for (const s of sockets) s.disconnect()
  await server?.stop()
  await model?.close()
})

describe('handshake', () => {
  it('refuses a connection without a valid session, re-checked on every reconnect', async () => {
    const anonymous = connect(server.url)
    sockets.push(anonymous)
    expect((await refused(anonymous)).message).toBe('unauthenticated')
    const forged = connect(server.url, { token: 'not-a-session' })
    sockets.push(forged)
    const err = await refused(forged)
    expect(err.message).toBe('unauthenticated')
    expect(err.data).toMatchObject({ code: 'unauthenticated' })

    const leaver = await asUser(server.url, 'Leaver')
    const socket = await socketOf(leaver)
    const cut = new Promise<string>((resolve) => socket.once('disconnect', resolve))
    expect((await leaver.post('/auth/logout')).status).toBe(204)
    // the logout cuts the live connection at once
    expect(await cut).toBe('io server disconnect')
    const again = refused(socket)
    socket.connect()
    expect((await again).message).toBe('unauthenticated')
  })

  it('accepts the session cookie from our own origin, not from a foreign one', async () => {
    const login = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: owner.user!.email, password: 'correct horse battery' }),
    })
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!
    const own = connect(server.url, { headers: { cookie, origin: server.url } })
    sockets.push(own)
    await connected(own)
    const foreign = connect(server.url, { headers: { cookie, origin: 'https://evil.example' } })
    sockets.push(foreign)
    expect((await refused(foreign)).message).toBe('unauthenticated')
  })
})

describe('watching a running spec', () => {
  it('gives every viewer each event once, in seq order: from the start, mid-run, and across a reconnect with after_seq', async () => {
    const specId = await launch('OAuth login')
    const ownerView = new SpecView(await socketOf(owner), specId)
    expect((await ownerView.join()).spec).toMatchObject({ id: specId, access: 'owner', can_edit: true })
    const flaky = new SpecView(await socketOf(member), specId)
    await flaky.join()
    await ownerView.waitForCount(5)

    // the member joins mid-run: replay plus live, seamlessly
    const memberView = new SpecView(await socketOf(member), specId)
    expect((await memberView.join()).spec).toMatchObject({ access: 'viewer', can_edit: false })
    const outsiderSocket = await socketOf(outsider)
    expect(await ask(outsiderSocket, 'spec:join', { spec_id: specId })).toEqual({
      ok: false,
      error: { code: 'not_found', message: 'Spec was not found' },
    })

    // another viewer drops out, events happen, it comes back after the last seq it saw
    flaky.socket.disconnect()
    const seen = flaky.lastSeq
    await ownerView.waitForCount(seen + 5)
    await connected(flaky.socket)
    const rejoined = await flaky.join(seen)
    expect(rejoined.events[0]!.seq).toBe(seen + 1)
    const liveFrom = flaky.stream.length

    await Promise.all([ownerView, memberView, flaky].map((v) => v.waitForType('spec.execution_completed')))
    const log = await ownerView.settle(() => allEvents(owner, specId))
    expect(seqs(log)).toEqual(log.map((_, i) => i + 1))
    expect(ownerView.stream).toEqual(log)
    expect(memberView.stream).toEqual(await memberView.settle(() => allEvents(owner, specId)))
    expect(flaky.stream).toEqual(await flaky.settle(() => allEvents(owner, specId)))
    expect(flaky.stream.length).toBeGreaterThan(liveFrom) // live again after the replay
    expect(outsiderSocket.connected).toBe(true)
  }, 60_000)

  it('gives a batch viewer the same stream in spec:events arrays, across a reconnect with after_seq, beside a single-event viewer', async () => {
    const specId = await launch('Batched')
    const single = new SpecView(await socketOf(owner), specId)
    await single.join()
    const flaky = new SpecView(await socketOf(member), specId, { batch: true })
    await flaky.join()
    await single.waitForCount(5)
    const late = new SpecView(await socketOf(member), specId, { batch: true })
    const replay = await late.join()
    expect(replay.events.length).toBeGreaterThan(0) // the replay is an array too, in the join answer

    flaky.socket.disconnect()
    const seen = flaky.lastSeq
    await single.waitForCount(seen + 5)
    await connected(flaky.socket)
    expect((await flaky.join(seen)).events[0]!.seq).toBe(seen + 1)

    await Promise.all([single, flaky, late].map((v) => v.waitForType('spec.execution_completed')))
    for (const view of [flaky, late]) {
      expect(view.stream).toEqual(await view.settle(() => allEvents(owner, specId)))
      expect(view.frames.length).toBeGreaterThan(0)
      expect(view.strays).toBe(0)
    }
    expect(single.stream).toEqual(await single.settle(() => allEvents(owner, specId)))
    expect(single.strays).toBe(0)
  }, 60_000)

  it('answers a bad payload with invalid_body and survives a request without ack', async () => {
    const socket = await socketOf(owner)
    expect(await ask(socket, 'spec:join', { after_seq: 'x' })).toMatchObject({ ok: false, error: { code: 'invalid_body' } })
    expect(await ask(socket, 'spec:join')).toMatchObject({ ok: false, error: { code: 'invalid_body' } })
    expect(await ask(socket, 'spec:command', { spec_id: 'spec_x', command: 'explode' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_body', fields: { command: [expect.stringContaining('command must be one of')] } },
    })
    // without an ack (not allowed by the typed map, but a client may)
    const untyped = socket as unknown as { emit(event: string, ...args: unknown[]): void }
    untyped.emit('spec:join', { spec_id: 'spec_nope' })
    untyped.emit('spec:leave', 42)
    untyped.emit('spec:command', { spec_id: 'spec_nope', command: 'pause' })
    expect(await ask(socket, 'spec:leave', { spec_id: 'spec_nope' })).toEqual({ ok: true })
    expect(socket.connected).toBe(true)
  })
})

describe('the live stream', () => {
  /** Commits n agent messages to the spec's log; the test publishes them on the bus when and as it likes. */
  const write = async (specId: string, n: number) => {
    const events = Array.from({ length: n }, (_, i) => ({ id: newUuid(), type: 'agent.message', data: { text: `m${i}` }, source: 'agent' as const }))
    return (await transaction(server.database.sql, (tx) => appendEvents(tx, specId, events))).written
  }
  const publisher = (specId: string) => (events: SpecEvent[]) => server.host.bus.publish({ kind: 'events', specId, events })

  it('fills a gap from the log and drops late duplicates (as when events are relayed out of order)', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Gaps', description: 'out of order' })).body.id
    const publish = publisher(specId)
    const view = new SpecView(await socketOf(member), specId)
    await view.join()

    const first = await write(specId, 3) // committed, published only in part and out of order
    publish([first[2]!])
    await view.waitForCount(3)
    publish([first[0]!, first[1]!])
    // as the board joins: an after_seq past the end asks for no replay, only what comes next
    const board = new SpecView(await socketOf(owner), specId)
    expect((await board.join(Number.MAX_SAFE_INTEGER)).events).toEqual([])
    const next = await write(specId, 1)
    publish(next)
    await Promise.all([view.waitForCount(4), board.waitForCount(1)])
    expect(seqs(view.stream)).toEqual([1, 2, 3, 4])
    expect(view.stream).toEqual(await allEvents(owner, specId))
    expect(board.stream).toEqual(next)
  })

  it('sends a batch viewer what arrived in one tick as one array, and a single viewer each event as before', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Ticks', description: 'three messages at once' })).body.id
    const publish = publisher(specId)
    const batch = new SpecView(await socketOf(member), specId, { batch: true })
    const single = new SpecView(await socketOf(owner), specId)
    await Promise.all([batch.join(), single.join()])
    const committed = await write(specId, 3 + BATCH_MAX_EVENTS)
    // three bus messages in one turn: one frame; then more than a frame holds at once: split at the limit
    publish(committed.slice(0, 1))
    publish(committed.slice(1, 2))
    publish(committed.slice(2, 3))
    await batch.waitForCount(3)
    publish(committed.slice(3))
    await Promise.all([batch.waitForCount(committed.length), single.waitForCount(committed.length)])
    expect(batch.frames.map((f) => f.length)).toEqual([3, BATCH_MAX_EVENTS])
    expect(batch.stream).toEqual(committed)
    expect(single.stream).toEqual(committed)
    expect([batch.strays, single.strays]).toEqual([0, 0])
  })

  it('sends a lone event to a quiet batch room on the next turn, without waiting for the tick', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Quiet', description: 'one message' })).body.id
    const batch = new SpecView(await socketOf(member), specId, { batch: true })
    await batch.join()
    const [event] = await write(specId, 1)
    const order = new Collector<string>()
    batch.socket.on('spec:events', () => order.add('spec:events'))
    ;(batch.socket as unknown as { on(event: string, listener: () => void): void }).on('test:marker', () => order.add('test:marker'))
    const onServer = server.io.of('/').sockets.get(batch.socket.id!)! as unknown as { emit(event: string): void }
    publisher(specId)([event!])
    // sent on the turn after the publish: a frame still waiting for the 16 ms tick would arrive after it
    setImmediate(() => onServer.emit('test:marker'))
    expect(await order.until((items) => items.length === 2, 'the frame and the marker')).toEqual(['spec:events', 'test:marker'])
    expect(batch.stream).toEqual([event])
  })

  it('continues a batch replay cut at its limit with arrays in seq order', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Long batch', description: 'many events' })).body.id
    const total = 10_250
    for (let done = 0; done < total; done += 5000) {
      const batch = Array.from({ length: Math.min(5000, total - done) }, () => ({ id: newUuid(), type: 'agent.heartbeat', data: {}, source: 'agent' as const }))
      await transaction(server.database.sql, (tx) => appendEvents(tx, specId, batch))
    }
    const view = new SpecView(await socketOf(member), specId, { batch: true })
    expect((await view.join()).events).toHaveLength(10_000)
    await view.waitForCount(total)
    expect(seqs(view.stream)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
    expect(view.frames.map((f) => f.length)).toEqual([BATCH_MAX_EVENTS, 50])
  })

  it('gives a socket that joins again while watching the replay it asked for, then each live event once', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Rejoin', description: 'join twice' })).body.id
    const publish = publisher(specId)
    const view = new SpecView(await socketOf(member), specId)
    await view.join()
    publish(await write(specId, 2))
    await view.waitForCount(2)
    // two more are committed, and published while the second join is being answered (after the server took it in)
    const during = await write(specId, 2)
    server.io.of('/').sockets.get(view.socket.id!)!.onAny((event) => event === 'spec:join' && setImmediate(() => publish(during)))
    expect(seqs((await view.join(1)).events)).toEqual([2, 3, 4])
    publish(await write(specId, 1))
    await view.waitForCount(6)
    expect(seqs(view.stream)).toEqual([1, 2, 2, 3, 4, 5])
  })

  it('goes on with live events where a long replay was cut at its limit', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Long', description: 'many events' })).body.id
    const total = 10_003 // the replay's limit is 10 000 events
    for (let done = 0; done < total; done += 5000) {
      const batch = Array.from({ length: Math.min(5000, total - done) }, () => ({ id: newUuid(), type: 'agent.heartbeat', data: {}, source: 'agent' as const }))
      await transaction(server.database.sql, (tx) => appendEvents(tx, specId, batch))
    }
    const view = new SpecView(await socketOf(member), specId)
    expect((await view.join()).events).toHaveLength(10_000)
    await view.waitForCount(total)
    expect(seqs(view.stream)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
  })
})

const names = (p: { viewers: { name: string }[] } | undefined) => p?.viewers.map((v) => v.name).sort()

describe('presence', () => {
  it('lists the distinct users in the room on join, leave and disconnect', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Draft', description: 'not running' })).body.id
    const [tab1, tab2, viewer] = await Promise.all([socketOf(owner), socketOf(owner), socketOf(member)])
    const seen = new Collector<Presence>(tab1, 'spec:presence', (p) => p.spec_id === specId)
    const becomes = (expected: string[]) => seen.until((items) => String(names(items.at(-1))) === String(expected), `viewers ${expected}`)

    expect(names(await ask(tab1, 'spec:join', { spec_id: specId }))).toEqual(['Owner'])
    expect(names(await ask(tab2, 'spec:join', { spec_id: specId }))).toEqual(['Owner'])
    expect(names(await ask(viewer, 'spec:join', { spec_id: specId }))).toEqual(['Member', 'Owner'])
    await becomes(['Member', 'Owner'])
    expect(await ask(viewer, 'spec:leave', { spec_id: specId })).toEqual({ ok: true })
    await becomes(['Owner'])
    await ask(viewer, 'spec:join', { spec_id: specId })
    await becomes(['Member', 'Owner'])
    viewer.disconnect()
    await becomes(['Owner'])

    // the owner's second tab closing changes nobody (tab1 is still there): nothing is announced
    const count = seen.items.length
    tab2.disconnect()
    await sleep(2 * PRESENCE_INTERVAL_MS) // an absence takes a wait: an announcement would be out by now
    const back = await socketOf(member)
    await ask(back, 'spec:join', { spec_id: specId })
    await becomes(['Member', 'Owner'])
    expect(seen.items.slice(count).map(names)).toEqual([['Member', 'Owner']])
  })

  it('a socket following a spec with presence: false gets its events but is not listed as watching', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Board', description: 'followed from the board' })).body.id
    const [room, board] = await Promise.all([socketOf(owner), socketOf(member)])
    expect(names(await ask(room, 'spec:join', { spec_id: specId }))).toEqual(['Owner'])
    const joined = await ask(board, 'spec:join', { spec_id: specId, presence: false })
    expect(names(joined)).toEqual(['Owner'])
    const events = new Collector<{ type: string }>(board, 'spec:event')
    expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
    await events.until((items) => items.some((e) => e.type === 'spec.cancelled'), 'the cancel event on the board socket')
    // joining the room as a viewer lists the same socket after all
    expect(names(await ask(board, 'spec:join', { spec_id: specId }))).toEqual(['Member', 'Owner'])
  })

  it('tells the room about a crowd arriving at once in a few messages, not one per arrival', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Demo', description: 'everyone watches' })).body.id
    const crowd = await Promise.all(Array.from({ length: 16 }, (_, i) => asUser(server.url, `Guest${i}`)))
    for (const guest of crowd) {
      expect((await owner.post(`/projects/${projectId}/members`, { email: guest.user!.email, role: 'viewer' })).status).toBe(201)
    }
    const watcher = await socketOf(owner)
    const seen = new Collector<Presence>(watcher, 'spec:presence', (p) => p.spec_id === specId)
    await ask(watcher, 'spec:join', { spec_id: specId })
    const guests = await Promise.all(crowd.map(socketOf))
    await Promise.all(guests.map((socket) => ask(socket, 'spec:join', { spec_id: specId })))

    const everyone = ['Owner', ...crowd.map((guest) => guest.user!.name)].sort()
    await seen.until((items) => String(names(items.at(-1))) === String(everyone), 'the whole crowd listed')
    expect(seen.items.length).toBeLessThanOrEqual(crowd.length / 2)
  })
})

describe('presence deltas (batch: true)', () => {
  /** The join answer's list with every delta after it applied as a set, as a client keeps it. */
  class PresenceList {
    people = new Map<string, string>()
    private applied = 0
    readonly deltas: Collector<PresenceDelta>
    constructor(socket: TestSocket, specId: string) {
      this.deltas = new Collector<PresenceDelta>(socket, 'spec:presence', (p) => p.spec_id === specId)
    }
    answered(viewers: Viewer[]) {
      this.people = new Map(viewers.map((v) => [v.user_id, v.name]))
    }
    apply(delta: PresenceDelta) {
      for (const v of delta.joined) this.people.set(v.user_id, v.name)
      for (const v of delta.left) this.people.delete(v.user_id)
      expect(delta.count).toBe(this.people.size)
    }
    names = () => [...this.people.values()].sort()
    /** Applies deltas as they come until the list reads `expected`. */
    async becomes(expected: string[]) {
      await this.deltas.until((items) => {
        for (; this.applied < items.length; this.applied++) this.apply(items[this.applied]!)
        return String(this.names()) === String(expected)
      }, `viewers ${expected}`)
    }
  }

  it('answers the join with the full list, then sends what changed; a second tab changes nothing', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Deltas', description: 'who watches' })).body.id
    const [watcher, full, tab1, tab2] = await Promise.all([socketOf(owner), socketOf(owner), socketOf(member), socketOf(member)])
    const list = new PresenceList(watcher, specId)
    const lists = new Collector<Presence>(full, 'spec:presence', (p) => p.spec_id === specId)
    const answer = await ask(watcher, 'spec:join', { spec_id: specId, batch: true })
    list.answered(answer.viewers)
    expect(list.names()).toEqual(['Owner'])
    await ask(full, 'spec:join', { spec_id: specId })

    await ask(tab1, 'spec:join', { spec_id: specId, batch: true })
    await list.becomes(['Member', 'Owner'])
    // the member's second tab, and one of the two closing: the same people, nothing is sent
    const before = list.deltas.items.length
    await ask(tab2, 'spec:join', { spec_id: specId, batch: true })
    tab1.disconnect()
    await sleep(2 * PRESENCE_INTERVAL_MS) // an absence takes a wait: a delta would be out by now
    expect(list.deltas.items.length).toBe(before)
    expect(await ask(tab2, 'spec:leave', { spec_id: specId })).toEqual({ ok: true })
    await list.becomes(['Owner'])
    expect(list.deltas.items.slice(before)).toEqual([{ spec_id: specId, joined: [], left: [{ user_id: member.user!.id, name: 'Member' }], count: 1 }])
    expect(list.deltas.items.every((d) => d.joined.length + d.left.length > 0)).toBe(true)
    // a socket that did not ask for batches still gets the whole list, and no delta
    await lists.until((items) => String(names(items.at(-1))) === 'Owner', 'the full list without the member')
    expect(lists.items.every((p) => 'viewers' in p)).toBe(true)
  })

  it('tells a batch viewer about a crowd arriving in a few deltas that add up to everyone', async () => {
    const specId = (await owner.post('/specs', { project_id: projectId, title: 'Crowd', description: 'everyone watches' })).body.id
    const crowd = await Promise.all(Array.from({ length: 12 }, (_, i) => asUser(server.url, `Visitor${i}`)))
    for (const guest of crowd) {
      expect((await owner.post(`/projects/${projectId}/members`, { email: guest.user!.email, role: 'viewer' })).status).toBe(201)
    }
    const watcher = await socketOf(owner)
    const list = new PresenceList(watcher, specId)
    list.answered((await ask(watcher, 'spec:join', { spec_id: specId, batch: true })).viewers)
    // each visitor with two tabs, all joining at once
    const tabs = (await Promise.all(crowd.flatMap((guest) => [socketOf(guest), socketOf(guest)])))
    const answers = await Promise.all(tabs.map((socket) => ask(socket, 'spec:join', { spec_id: specId, batch: true })))
    expect(answers.every((a) => a.ok)).toBe(true)
    const everyone = ['Owner', ...crowd.map((guest) => guest.user!.name)].sort()
    await list.becomes(everyone)
    expect(list.deltas.items.length).toBeLessThanOrEqual(crowd.length / 3)
    expect(list.deltas.items.at(-1)!.count).toBe(everyone.length)
  })
})

describe('commands', () => {
  const command = (socket: TestSocket, specId: string, input: Record<string, unknown>) => ask(socket, 'spec:command', { spec_id: specId, ...input })

  it('have the same effect and answer over the socket as over REST; a viewer is refused', async () => {
    const specId = await launch('Manual', 'manual')
    const socket = await socketOf(owner)

    const paused = await command(socket, specId, { command: 'pause' })
    expect(paused).toMatchObject({ ok: true, spec_id: specId, status: 'paused', spec: { id: specId, status: 'paused' } })
    const restConflict = await owner.post(`/specs/${specId}/pause`)
    expect(restConflict.status).toBe(409)
    expect(await command(socket, specId, { command: 'pause' })).toEqual({ ok: false, error: restConflict.body.error })
    const resumed = await owner.post(`/specs/${specId}/resume`)
    expect(resumed.status).toBe(200)
    expect(Object.keys(paused).sort()).toEqual(['ok', ...Object.keys(resumed.body)].sort())

    expect(await command(socket, specId, { command: 'message', text: 'from the socket' })).toEqual({
      ok: true,
      spec_id: specId,
      seq: expect.any(Number),
      text: 'from the socket',
    })
    expect((await owner.post(`/specs/${specId}/messages`, { text: 'over REST' })).body).toEqual({ spec_id: specId, seq: expect.any(Number), text: 'over REST' })

    const viewer = await socketOf(member)
    const restForbidden = await member.post(`/specs/${specId}/pause`)
    expect(restForbidden.status).toBe(403)
    expect(await command(viewer, specId, { command: 'pause' })).toEqual({ ok: false, error: restForbidden.body.error })

    await waitForStatus(owner, specId, ['awaiting_approval'])
    const approved = await command(socket, specId, { command: 'approve', phase: 'requirements' })
    expect(approved).toMatchObject({ ok: true, spec_id: specId, status: 'executing' })
    await waitForStatus(owner, specId, ['awaiting_approval'])
    const approvedRest = await owner.post(`/specs/${specId}/approve`, { phase: 'design' })
    expect(Object.keys(approved).sort()).toEqual(['ok', ...Object.keys(approvedRest.body)].sort())
    expect(await command(socket, specId, { command: 'approve', phase: 'design' })).toMatchObject({ ok: false, error: { code: 'conflict' } })
    expect(await command(socket, specId, { command: 'cancel' })).toMatchObject({ ok: true, status: 'cancelled' })

    const log = await allEvents(owner, specId)
    expect(log.filter((e) => e.type === 'spec.approved').map((e) => e.data)).toEqual([
      { phase: 'requirements', by: owner.user!.id },
      { phase: 'design', by: owner.user!.id },
    ])
    expect(log.filter((e) => e.type === 'user.message').map((e) => e.data.text)).toEqual(['from the socket', 'over REST'])
    expect(log.filter((e) => e.type === 'spec.paused' || e.type === 'spec.resumed').map((e) => e.type)).toEqual(['spec.paused', 'spec.resumed'])
  }, 60_000)
})
