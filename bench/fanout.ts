import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import { Server } from 'socket.io'
import type { Database } from '../src/db/connect.ts'
import { MAX_QUEUED_BYTES, queuedPackets } from '../src/sockets/backpressure.ts'
import { SpecFeed } from '../src/sockets/feed.ts'
import type { SpecServer } from '../src/sockets/types.ts'
import { newId, newSecret } from '../src/ids.ts'
import { runChild } from './support/child.ts'
import { freshDatabase } from './support/db.ts'
import type { FanoutAnswer, FanoutJob, FanoutPhase, PhaseAnswer } from './support/fanout-clients.ts'
import { progress, runIfMain, type BenchResult } from './support/result.ts'
import { Client, runningSandbox, startRealServer } from './support/server.ts'
import { fmt, loadNote, median, sleep } from './support/stats.ts'

/**
 * Fan-out (DESIGN §7): 1,000 socket.io-client viewers in one spec's room on the real server; a sender posts agent
 * events through the sandbox callback endpoint at 100 events/s for 10 s; latency from the POST to each viewer's receipt
 * (p50/p99) and drops (every viewer must get every seq). Baseline in the same run: a bare Socket.IO server on
 * @hono/node-server, its viewers in one room, broadcasting the same payloads (`io.to(room).emit`) as the same sender
 * posts them at the same rate — so both figures are POST → receipt, from the sender's clock, in the viewers' process.
 * Both servers live in this process, both sets of viewers stay connected, and the phases alternate between them.
 */

const VIEWERS = Number(process.env.BENCH_FANOUT_VIEWERS ?? 1_000)
/**
 * How many distinct people the viewers are (each with several tabs open). Presence announcements are coalesced per
 * room (src/sockets/presence.ts); BENCH_FANOUT_USERS=1000 measures joins of 1,000 distinct people.
 */
const USERS = Math.min(VIEWERS, Number(process.env.BENCH_FANOUT_USERS ?? 20))
const RATE = 100
const EVENTS = 1_000
const DRAIN_MS = 3_000
/** Between phases, unmeasured: a server still working off a backlog would weigh on the next phase. */
const SETTLE_MS = 15_000
/** The two ways of sending 100 events/s, each measured on both servers, in ABBA order against drift. */
const MODES = [
  // what omoi's worker sends at 100 events/s: a batch every 250 ms (src/sandbox/worker/events.ts)
  { name: 'worker batches', batch: 25 },
  // every event its own callback
  { name: 'one event per POST', batch: 1 },
]
const PHASES: FanoutPhase[] = [
  { ...MODES[0]!, target: 'real' },
  { ...MODES[0]!, target: 'bare' },
  { ...MODES[1]!, target: 'bare' },
  { ...MODES[1]!, target: 'real' },
]
const BUDGET_P99_MS = 50
const BUDGET_RATIO = 1.5

/**
 * Viewer accounts: `count` users, members (viewer) of the project, each with a session token, written straight to the
 * tables. Returns one token per user.
 */
async function viewerTokens(database: Database, projectId: string, count: number): Promise<string[]> {
  const { sql } = database
  const users = Array.from({ length: count }, (_, i) => ({
    id: newId('usr'),
    email: `viewer-${i}-${newSecret(6).toLowerCase()}@example.com`,
    name: `Viewer ${i}`,
    password_hash: 'not-a-hash',
  }))
  const tokens = users.map(() => newSecret(20))
  for (let i = 0; i < count; i += 500) {
    const part = users.slice(i, i + 500)
    await sql`insert into users ${sql(part, 'id', 'email', 'name', 'password_hash')}`
    await sql`insert into project_members ${sql(part.map((u) => ({ project_id: projectId, user_id: u.id, role: 'viewer' })), 'project_id', 'user_id', 'role')}`
    await sql`insert into sessions (id, user_id, expires_at)
      select * from unnest(${tokens.slice(i, i + 500)}::text[], ${part.map((u) => u.id)}::text[], array_fill(now() + interval '30 days', array[${part.length}]::int[]))`
  }
  return tokens
}

/** The baseline: Socket.IO on @hono/node-server, no auth, no database; a POST broadcasts its events to the room. */
async function startBareServer(): Promise<{ url: string; close(): Promise<void> }> {
  let seq = 0
  const app = new Hono().post('/events', async (c) => {
    const body = await c.req.json<{ events: { id: string; type: string; data: Record<string, unknown> }[] }>()
    for (const e of body.events) {
      io.to('spec:bare').emit('spec:event', {
        seq: ++seq,
        id: e.id,
        spec_id: 'spec_bare',
        sandbox_id: 'sbx_bare',
        type: e.type,
        data: e.data,
        source: 'agent',
        created_at: new Date().toISOString(),
      })
    }
    return c.json({ accepted: body.events.length, duplicates: 0 })
  })
  const http = createServer(getRequestListener(app.fetch))
  const io = new Server(http, { serveClient: false })
  io.on('connection', (socket) => {
    socket.on('spec:join', async (_payload: unknown, ack: (a: unknown) => void) => {
      await socket.join('spec:bare')
      ack({ ok: true, spec: null, events: [], viewers: [] })
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      io.disconnectSockets(true)
      await new Promise<void>((resolve) => io.close(() => resolve()))
    },
  }
}

interface ServerSide {
  /** This process's event-loop delay (ms) and CPU (% of one core) during each phase. */
  loopP99: number
  loopMax: number
  cpu: number
  /** The most packets seen waiting in one real-server socket's engine.io write buffer (sampled every 100 ms). */
  maxQueued: number
}

/**
 * What handing ONE event to every viewer costs the real server's event loop, measured in its process on its own
 * sockets once they have joined: through `SpecFeed` (src/sockets/feed.ts, one `socket.emit` per viewer, as the real
 * server delivers) against one `io.to(room).emit` (encoded once). Median over 20 single events each, and over 5 batches
 * of 25 (what one worker POST brings), the time the loop is blocked (ms).
 */
async function deliveryCost(
  io: SpecServer,
  specId: string,
): Promise<{ sockets: number; feedMs: number; roomMs: number; feedBatchMs: number; roomBatchMs: number }> {
  const room = `spec:${specId}`
  const sockets = [...io.of('/').sockets.values()].filter((s) => s.rooms.has(room))
  const feed = new SpecFeed(async () => [])
  const probe = 'spec_probe'
  for (const s of sockets) feed.open(feed.hold(s, probe), probe, 0, {} as never)
  const event = (seq: number) => ({
    seq,
    id: randomUUID(),
    spec_id: specId,
    sandbox_id: 'sbx_probe',
    type: 'agent.message',
    data: { text: 'Reading src/todos/routes.ts to see how PATCH validates its body before adding due_at to the schema.', probe: true },
    source: 'agent' as const,
    created_at: new Date().toISOString(),
  })
  const viaFeed: number[] = []
  const viaRoom: number[] = []
  for (let i = 1; i <= 20; i++) {
    let t = performance.now()
    feed.events(probe, [event(i)])
    viaFeed.push(performance.now() - t)
    await sleep(50)
    t = performance.now()
    io.to(room).emit('spec:event', event(0))
    viaRoom.push(performance.now() - t)
    await sleep(50)
  }
  // and a worker batch: 25 events at once
  let seq = 20
  const batchFeed: number[] = []
  const batchRoom: number[] = []
  for (let i = 0; i < 5; i++) {
    const events = Array.from({ length: 25 }, () => event(++seq))
    let t = performance.now()
    feed.events(probe, events)
    batchFeed.push(performance.now() - t)
    await sleep(300)
    t = performance.now()
    for (const e of events) io.to(room).emit('spec:event', { ...e, seq: 0 })
    batchRoom.push(performance.now() - t)
    await sleep(300)
  }
  for (const s of sockets) feed.release(s.id, probe)
  return {
    sockets: sockets.length,
    feedMs: median(viaFeed),
    roomMs: median(viaRoom),
    feedBatchMs: median(batchFeed),
    roomBatchMs: median(batchRoom),
  }
}

/** Runs the viewers' process; the servers live in this process, whose event loop and CPU are watched per phase. */
async function runViewers(
  job: FanoutJob,
  io: SpecServer,
  onJoined: () => Promise<void>,
): Promise<{ answer: FanoutAnswer; server: ServerSide[] }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 })
  // how far behind the real server's sockets fall (src/sockets/backpressure.ts drops one past MAX_QUEUED_BYTES)
  let maxQueued = 0
  const sampler = setInterval(() => {
    for (const s of io.of('/').sockets.values()) maxQueued = Math.max(maxQueued, queuedPackets(s))
  }, 100)
  const server: ServerSide[] = []
  let cpu0 = process.cpuUsage()
  let t0 = performance.now()
  const { child, result } = runChild<FanoutJob, FanoutAnswer>(new URL('./support/fanout-clients.ts', import.meta.url), job, {
    timeoutMs: 170_000,
    onMessage: (m) => {
      const { msg, mark } = m as { msg: string; mark?: string }
      progress(msg)
      if (mark === 'joined') {
        onJoined().then(
          () => child.send('go'),
          (err) => {
            progress(`probe failed: ${err}`)
            child.send('go')
          },
        )
      } else if (mark?.startsWith('phase-start:')) {
        histogram.reset()
        histogram.enable()
        maxQueued = 0
        cpu0 = process.cpuUsage()
        t0 = performance.now()
      } else if (mark?.startsWith('phase-end:')) {
        histogram.disable()
        const cpu = process.cpuUsage(cpu0)
        server[Number(mark.slice('phase-end:'.length))] = {
          loopP99: histogram.percentile(99) / 1e6,
          loopMax: histogram.max / 1e6,
          cpu: ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100,
          maxQueued,
        }
      }
    },
  })
  try {
    return { answer: await result, server }
  } finally {
    clearInterval(sampler)
    histogram.disable()
  }
}

const line = (a: PhaseAnswer, s: ServerSide | undefined) =>
  `p50 ${fmt(a.p50)} ms, p99 ${fmt(a.p99)} ms, max ${fmt(a.max, 0)} ms; last viewer per event p99 ${fmt(a.lastViewerP99)} ms; ` +
  `${fmt(a.received, 0)}/${fmt(a.expected, 0)} delivered, ${a.outOfOrder} out of order, ${a.duplicates} doubled, ${a.disconnects} disconnected` +
  (a.unanswered ? `, ${a.unanswered} POSTs unanswered ${DRAIN_MS / 1000} s after the last send` : '') +
  `; done ${(a.sendMs / 1000).toFixed(1)} s after the first send` +
  (a.backlogMs !== null && a.backlogMs > 100 ? ` (backlog worked off ${(a.backlogMs / 1000).toFixed(1)} s later)` : '') +
  (s ? `; server CPU ${fmt(s.cpu, 0)}%, event-loop delay p99 ${fmt(s.loopP99)} ms (max ${fmt(s.loopMax, 0)})` : '') +
  (s && a.target === 'real' ? `; most packets queued on one socket ${s.maxQueued} (drop past ${MAX_QUEUED_BYTES} bytes)` : '') +
  `; viewers' CPU ${fmt(a.clientCpu, 0)}%` +
  (a.clientCpu >= 85 ? ' (SATURATED: these latencies measure the viewers\' process as much as the server)' : '') +
  `; slowest (sent at → last viewer): ${a.worst.map((w) => `${w.atMs} → ${w.ms} ms`).join(', ')}`

export async function fanoutBench(): Promise<BenchResult> {
  const database = await freshDatabase('fanout')
  let run: Awaited<ReturnType<typeof runViewers>>
  let cost: Awaited<ReturnType<typeof deliveryCost>> | undefined
  try {
    const server = await startRealServer(database)
    const bareServer = await startBareServer()
    try {
      const owner = await new Client(server.url).signup('Owner')
      const projectId = await owner.project()
      const specId = await owner.draftSpec(projectId, 'fan-out')
      const sandbox = await runningSandbox(database, specId)
      const people = await viewerTokens(database, projectId, USERS)
      progress(`fanout: ${VIEWERS} viewers (${USERS} people) on the real server, ${VIEWERS} on the bare one; ${EVENTS} events per phase at ${RATE}/s`)
      run = await runViewers(
        {
          targets: [
            {
              label: 'real',
              url: server.url,
              tokens: Array.from({ length: VIEWERS }, (_, i) => people[i % USERS]!),
              specId,
              postUrl: `${server.url}/api/v1/sandboxes/${sandbox.id}/events`,
              postToken: sandbox.token,
            },
            {
              label: 'bare',
              url: bareServer.url,
              tokens: Array.from({ length: VIEWERS }, () => null),
              specId: 'spec_bare',
              postUrl: `${bareServer.url}/events`,
              postToken: null,
            },
          ],
          phases: PHASES,
          ratePerSec: RATE,
          events: EVENTS,
          drainMs: DRAIN_MS,
          settleMs: SETTLE_MS,
        },
        server.io,
        async () => {
          progress('fanout: measuring what one event costs the real server per viewer')
          cost = await deliveryCost(server.io, specId)
        },
      )
    } finally {
      await bareServer.close()
      await server.stop()
    }
  } finally {
    await database.close()
  }

  const { answer, server } = run
  // a failed POST is reported (its events count as not delivered), not thrown: the other figures still stand
  const errors = answer.phases.flatMap((p) => p.sendErrors.map((e) => `${p.target}/${p.name}: ${e}`))
  const [realJoin, bareJoin] = answer.targets as [FanoutAnswer['targets'][number], FanoutAnswer['targets'][number]]
  const phase = (target: string, name: string) => {
    const i = answer.phases.findIndex((p) => p.target === target && p.name === name)
    return { a: answer.phases[i]!, s: server[i] }
  }
  const verdicts = MODES.map((mode) => {
    const r = phase('real', mode.name)
    const b = phase('bare', mode.name)
    const ratio = r.a.p99 / b.a.p99
    const missing = r.a.expected - r.a.received
    return { mode, r, b, ratio, missing, met: r.a.p99 < BUDGET_P99_MS && ratio <= BUDGET_RATIO && missing === 0 && realJoin.viewers === VIEWERS }
  })
  const primary = verdicts[0]!
  return {
    name: 'fanout',
    figure: `p99 ${fmt(primary.r.a.p99)} ms (p50 ${fmt(primary.r.a.p50)} ms) POST → viewer, ${realJoin.viewers} viewers, ${RATE} events/s in worker batches, ${primary.missing} not delivered`,
    baseline: `p99 ${fmt(primary.b.a.p99)} ms (p50 ${fmt(primary.b.a.p50)} ms), bare Socket.IO room broadcast, ${bareJoin.viewers} viewers`,
    ratio: primary.ratio,
    ratioLabel: `${primary.ratio.toFixed(2)}× the bare p99`,
    budget: {
      text:
        `p99 < ${BUDGET_P99_MS} ms, ≤ ${BUDGET_RATIO}× bare, nothing dropped, ${VIEWERS} viewers — ` +
        verdicts.map((v) => `${v.mode.name}: ${v.met ? 'met' : 'not met'}`).join(', '),
      met: verdicts.every((v) => v.met),
    },
    notes: [
      ...verdicts.flatMap((v) => [
        `${v.mode.name} (${v.mode.batch}/POST), real: ${line(v.r.a, v.r.s)}`,
        `${v.mode.name} (${v.mode.batch}/POST), bare: ${line(v.b.a, v.b.s)} → real/bare p99 ${v.ratio.toFixed(2)}×`,
      ]),
      ...(cost
        ? [
            `handing one event to ${cost.sockets} viewers blocks the real server's event loop ${fmt(cost.feedMs, 2)} ms through SpecFeed ` +
              `(a broadcast to the spec's live room) vs ${fmt(cost.roomMs, 2)} ms for one io.to(room).emit → ${(cost.feedMs / cost.roomMs).toFixed(1)}×; ` +
              `a batch of 25: ${fmt(cost.feedBatchMs, 1)} ms vs ${fmt(cost.roomBatchMs, 1)} ms → ${(cost.feedBatchMs / cost.roomBatchMs).toFixed(1)}×`,
          ]
        : []),
      `joining: real ${(realJoin.joinMs / 1000).toFixed(1)} s for ${realJoin.viewers} viewers of ${USERS} people ` +
        `(${fmt(realJoin.presenceMessages, 0)} spec:presence messages, ${fmt(realJoin.presenceEntries, 0)} viewer entries in all); ` +
        `bare ${(bareJoin.joinMs / 1000).toFixed(1)} s`,
      ...(realJoin.failedViewers || bareJoin.failedViewers
        ? [`viewers that could not join: real ${realJoin.failedViewers}, bare ${bareJoin.failedViewers} (${[...realJoin.connectErrors, ...bareJoin.connectErrors].join(' | ')})`]
        : []),
      ...(errors.length ? [`POSTs that failed (first 5 per phase): ${errors.join(' | ')}`] : []),
      `viewers and sender in one child process (one clock), both servers in this one; ${loadNote()}`,
    ],
  }
}

runIfMain(import.meta.url, fanoutBench)
