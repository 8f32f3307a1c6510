import { randomUUID } from 'node:crypto'
import { PerformanceObserver } from 'node:perf_hooks'
import { io, type Socket } from 'socket.io-client'
import { AGENT_TEXT } from './agent-text.ts'
import { serveChild } from './child.ts'
import { decoded, holdDecoding, stampArrivals } from './receipts.ts'
import { quantile, sleep } from './stats.ts'

/**
 * The viewers and the sender of bench/fanout.ts, in one process so that send and receipt times come from one clock.
 * Connects every target's viewers (WebSocket only, one connection each) and joins them to the target's room, then
 * runs the phases one after the other: the sender posts agent events to one target at a fixed rate (open loop: a slow
 * answer does not slow the sender) and records, for each of that target's viewers and each event, the time from the
 * start of the POST that carried it to the viewer's receipt.
 */

export interface FanoutTarget {
  label: string
  /** Socket.IO server URL (namespace `/`). */
  url: string
  /** One handshake token per viewer (`auth: {token}`), or null (no auth). */
  tokens: (string | null)[]
  specId: string
  /** Where the sender posts `{events: [...]}`, and its Bearer token. */
  postUrl: string
  postToken: string | null
  /** Join with `batch: true`: events come as `spec:events` arrays, presence as deltas. */
  batch?: boolean
  /** Where the warm-up viewers join (a spec of its own, so that the measured room starts empty). */
  warmupSpecId: string
}

export interface FanoutPhase {
  name: string
  target: string
  /** Events per POST: 1 (every event its own callback) or the worker's batching (src/sandbox/worker/events.ts). */
  batch: number
}

export interface FanoutJob {
  targets: FanoutTarget[]
  /** The presence tick (src/sockets/presence.ts): at most one presence message per viewer in it is the target. */
  presenceTickMs: number
  /**
   * Before the measured joins, this many viewers of every target connect, join the target's warm-up spec and leave
   * again, unmeasured: the first target to be joined would otherwise pay for compiling the code paths (socket.io-client,
   * engine.io, ws) that every target shares, and the targets after it would not.
   */
  warmup: number
  /**
   * How many times each target's crowd joins (then leaves, except the last time), in an order reversed every round
   * (ABBA): one crowd of 1,000 joins in about half a second here, and back-to-back runs differ by ±30 %.
   */
  joinRounds: number
  phases: FanoutPhase[]
  ratePerSec: number
  /** Events per phase. */
  events: number
  /** After a phase's last send: how long to wait for answers and deliveries before counting what is missing. */
  drainMs: number
  /** Then, unmeasured, how long to let a server work off its backlog before the next phase. */
  settleMs: number
}

export interface PhaseAnswer {
  name: string
  target: string
  batch: number
  sent: number
  sendErrors: string[]
  /** From the first send until the last answer (or the end of the drain). */
  sendMs: number
  /** POSTs still unanswered at the end of the drain. */
  unanswered: number
  expected: number
  received: number
  outOfOrder: number
  duplicates: number
  disconnects: number
  p50: number
  p99: number
  max: number
  /** Per event: until the LAST viewer had it. */
  lastViewerP50: number
  lastViewerP99: number
  /** The slowest events: when they were sent (ms into the phase) and when the last viewer had them. */
  worst: { atMs: number; ms: number }[]
  /** CPU the viewers' process used during the phase, in % of one core. */
  clientCpu: number
  /** The viewers' process's collections V8 started during the phase, and those it ran between posts (`collectBetweenPosts`). */
  clientGc: { own: GcPauses; between: GcPauses }
  /** After the measured window: how much longer until every POST was answered and every viewer had every event (null: not within the settle time, or not waited for). */
  backlogMs: number | null
}

export interface TargetAnswer {
  label: string
  viewers: number
  /** Viewers that could not connect or join (file descriptors, refusals, timeouts). */
  failedViewers: number
  connectErrors: string[]
  /** The median of the rounds' joining times. */
  joinMs: number
  /** Every round's joining time, in the order run. */
  joinRoundsMs: number[]
  presenceMessages: number
  /** Sum of the viewer entries over every presence message received (lists, or joined + left): what presence cost. */
  presenceEntries: number
  /** Sum of the people listed by the join answers. */
  answerEntries: number
  /** The most presence messages one viewer got within one presence tick (less 20 % for timer jitter) while joining, in any round. */
  presencePerTick: number
}

/** What the viewers' process paused for garbage collection during a phase (it stalls every viewer at once). */
export interface GcPauses {
  count: number
  totalMs: number
  maxMs: number
}

export interface FanoutAnswer {
  targets: TargetAnswer[]
  phases: PhaseAnswer[]
}

/**
 * Before each measured crowd both processes (the viewers' and the servers') collect what earlier crowds left behind, so
 * that no round pays for another's garbage: a major collection falling into one target's round and not the other's
 * moved single rounds by ±30 %.
 */
async function collectBoth(): Promise<void> {
  collect?.({ type: 'major' })
  await new Promise<void>((resolve) => {
    process.once('message', () => resolve())
    report('collecting before a crowd', 'collect')
  })
}

const clock = () => performance.now()
/** After a crowd disconnects: the servers see it go (and tell nobody, the room being empty) before the next one joins. */
const LEAVE_MS = 1_500
const report = (msg: string, mark?: string) => process.send?.({ kind: 'progress', msg, mark })
/** This process's garbage-collection pauses (start in performance.now() ms, duration ms), for the phases' diagnostics. */
const gcPauses: { at: number; ms: number }[] = []
/** When this process collected on purpose, between two posts (`collectBetweenPosts`). */
const forced: { from: number; to: number }[] = []
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push({ at: e.startTime, ms: e.duration })
}).observe({ entryTypes: ['gc'] })

const pauses = (list: { ms: number }[]): GcPauses => ({
  count: list.length,
  totalMs: list.reduce((sum, g) => sum + g.ms, 0),
  maxMs: list.reduce((max, g) => Math.max(max, g.ms), 0),
})

/** The collections V8 started on its own between `from` and `to` (those that may have stalled receipts), and ours. */
function gcBetween(from: number, to: number): { own: GcPauses; between: GcPauses } {
  const within = gcPauses.filter((g) => g.at >= from && g.at <= to)
  const ours = (g: { at: number }) => forced.some((f) => g.at >= f.from && g.at <= f.to)
  return { own: pauses(within.filter((g) => !ours(g))), between: pauses(within.filter(ours)) }
}

/**
 * A browser's V8 collects garbage in idle time, between frames (Blink runs collection as idle tasks); Node has no such
 * scheduling, and the viewers' process holds a thousand viewers' garbage in one heap: V8 collected it while a post was
 * arriving and stalled every viewer at once (a major collection every ~2 s, 10–30 ms each; bench/README.md). So the
 * process collects in the gap between two posts, once every viewer has everything sent so far: a minor collection,
 * a full one every MAJOR_EVERY posts. When frames are still arriving it skips, and V8 collects when it must.
 */
const COLLECT_AFTER_MS = 150
const MAJOR_EVERY = 4
const collect = (globalThis as { gc?: (options: { type: 'major' | 'minor' }) => void }).gc

function collectBetweenPosts(post: number, caughtUp: () => boolean): void {
  if (!collect || !caughtUp()) return
  const from = performance.now()
  collect({ type: post % MAJOR_EVERY === 0 ? 'major' : 'minor' })
  forced.push({ from, to: performance.now() })
}

const TEXT = AGENT_TEXT

interface SpecEventLike {
  seq: number
  data: { p?: number; n?: number }
}

/** One target's viewers and what they received in the current phase. */
class Viewers {
  readonly sockets: (Socket | null)[]
  readonly lastSeq: Float64Array
  readonly counts: Uint32Array
  latency = new Float64Array(0)
  sentAt = new Float64Array(0)
  /** The phase whose events are being recorded (-1: none). */
  phase = -1
  outOfOrder = 0
  duplicates = 0
  disconnects = 0
  presenceMessages = 0
  presenceEntries = 0
  /** People listed by the join answers, in all. */
  answerEntries = 0
  /** Per viewer, when its presence messages arrived. */
  readonly presenceAt: number[][]

  constructor(
    readonly target: FanoutTarget,
    readonly N: number,
  ) {
    this.sockets = new Array(target.tokens.length).fill(null)
    this.lastSeq = new Float64Array(target.tokens.length)
    this.counts = new Uint32Array(target.tokens.length)
    this.presenceAt = Array.from({ length: target.tokens.length }, () => [])
  }

  /** The most presence messages one viewer got within `windowMs`. */
  presencePeak(windowMs: number): number {
    let peak = 0
    for (const times of this.presenceAt) {
      for (let i = 0, j = 0; i < times.length; i++) {
        while (times[i]! - times[j]! >= windowMs) j++
        peak = Math.max(peak, i - j + 1)
      }
    }
    return peak
  }

  get joined(): number[] {
    return this.sockets.map((s, v) => (s ? v : -1)).filter((v) => v >= 0)
  }

  startPhase(p: number): void {
    const V = this.sockets.length
    this.latency = new Float64Array(V * this.N).fill(NaN)
    this.sentAt = new Float64Array(this.N).fill(NaN)
    this.counts.fill(0)
    this.outOfOrder = this.duplicates = this.disconnects = 0
    this.phase = p
  }

  received(): number {
    return this.joined.reduce((sum, v) => sum + this.counts[v]!, 0)
  }

  async open(v: number): Promise<void> {
    const token = this.target.tokens[v]
    const N = this.N
    const socket = io(this.target.url, {
      transports: ['websocket'],
      forceNew: true, // one connection per viewer (a shared Manager would multiplex them all on one)
      reconnection: false,
      timeout: 30_000,
      ...(token ? { auth: { token } } : {}),
    })
    const take = (e: SpecEventLike, at: number) => {
      if (e.seq <= this.lastSeq[v]!) {
        if (e.seq === this.lastSeq[v]) this.duplicates++
        else this.outOfOrder++
      }
      this.lastSeq[v] = Math.max(this.lastSeq[v]!, e.seq)
      const n = e.data?.n
      if (e.data?.p !== this.phase || typeof n !== 'number' || n < 0 || n >= N) return
      if (Number.isNaN(this.latency[v * N + n]!)) {
        this.counts[v]!++
        this.latency[v * N + n] = at - this.sentAt[n]!
      } else {
        this.duplicates++
      }
    }
    let answered = () => {}
    // stamped on arrival, decoded afterwards (receipts.ts): the same for every target
    stampArrivals(socket, {
      events: (name, payload, at) => {
        if (name === 'spec:events') for (const e of payload as SpecEventLike[]) take(e, at)
        else take(payload as SpecEventLike, at)
      },
      presence: (at) => {
        this.presenceMessages++
        this.presenceAt[v]!.push(at)
      },
      answered: () => answered(),
    })
    socket.on('spec:presence', (p: { viewers?: unknown[]; joined?: unknown[]; left?: unknown[] }) => {
      this.presenceEntries += (p.viewers?.length ?? 0) + (p.joined?.length ?? 0) + (p.left?.length ?? 0)
    })
    socket.on('disconnect', () => {
      if (this.phase >= 0) this.disconnects++
    })
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve())
        socket.once('connect_error', (err) => reject(err))
      })
      // joined when an `ok` answer arrives; the answer itself is decoded later and must be one
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer to spec:join within 60 s')), 60_000)
        answered = () => (clearTimeout(timer), resolve())
        const payload = { spec_id: this.target.specId, ...(this.target.batch ? { batch: true } : {}) }
        socket.emit('spec:join', payload, (answer: { ok: boolean; error?: unknown; viewers?: unknown[] }) => {
          if (answer?.ok) return void (this.answerEntries += answer.viewers?.length ?? 0)
          clearTimeout(timer)
          reject(new Error(`join refused: ${JSON.stringify(answer?.error ?? answer)}`))
        })
      })
    } catch (err) {
      socket.disconnect()
      throw err
    }
    this.sockets[v] = socket
  }

  /** Disconnects every viewer and forgets what they were told: the crowd can join again. */
  leaveAll(): void {
    for (const s of this.sockets) s?.disconnect()
    this.sockets.fill(null)
    for (const times of this.presenceAt) times.length = 0
    this.presenceMessages = this.presenceEntries = this.answerEntries = 0
  }

  /** Connects and joins every viewer, in waves: a thousand handshakes at once time out for reasons of their own. */
  async joinAll(presenceTickMs: number): Promise<Omit<TargetAnswer, 'joinRoundsMs'>> {
    const V = this.sockets.length
    const connectErrors: string[] = []
    holdDecoding()
    const start = clock()
    const WAVE = 50
    for (let from = 0; from < V; from += WAVE) {
      const wave = Array.from({ length: Math.min(WAVE, V - from) }, (_, k) => from + k)
      const results = await Promise.allSettled(wave.map((v) => this.open(v)))
      for (const r of results) if (r.status === 'rejected' && connectErrors.length < 5) connectErrors.push(String(r.reason?.message ?? r.reason))
      if ((from + WAVE) % 250 === 0 || from + WAVE >= V) {
        report(`${this.target.label}: ${this.joined.length}/${V} joined after ${((clock() - start) / 1000).toFixed(1)} s, ${this.presenceMessages} presence messages so far`)
      }
    }
    const joinMs = clock() - start
    // let the last presence announcements land
    let quietSince = clock()
    let seen = this.presenceMessages
    for (let i = 0; i < 100 && clock() - quietSince < 500; i++) {
      await sleep(100)
      if (this.presenceMessages !== seen) [seen, quietSince] = [this.presenceMessages, clock()]
    }
    await decoded()
    const joined = this.joined.length
    return {
      label: this.target.label,
      viewers: joined,
      failedViewers: V - joined,
      connectErrors,
      joinMs,
      presenceMessages: this.presenceMessages,
      presenceEntries: this.presenceEntries,
      answerEntries: this.answerEntries,
      presencePerTick: this.presencePeak(presenceTickMs * 0.8),
    }
  }
}

/**
 * Before the phases, a few posts to every target, unmeasured (the viewers ignore their events, `p: -1`): the sender's
 * connection and each server's ingest path are set up once, as a worker's are, instead of inside the first measured
 * post. That post alone is 2.5 % of a phase's receipts, more than the 1 % the p99 leaves out.
 */
async function warmSender(target: FanoutTarget): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const events = Array.from({ length: 5 }, () => ({ id: randomUUID(), type: 'agent.message', data: { text: TEXT, p: -1, n: -1 } }))
    const res = await fetch(target.postUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(target.postToken ? { authorization: `Bearer ${target.postToken}` } : {}) },
      body: JSON.stringify({ events }),
    })
    await res.text()
  }
}

async function runPhase(job: FanoutJob, p: number, viewers: Viewers, settleMs: number | null): Promise<PhaseAnswer> {
  const spec = job.phases[p]!
  const { target, N } = viewers
  viewers.startPhase(p)
  report(`${target.label}: ${spec.name}: ${N} events at ${job.ratePerSec}/s, ${spec.batch} per POST`, `phase-start:${p}`)
  const cpu0 = process.cpuUsage()
  const sendErrors: string[] = []
  let unanswered = 0
  const inflight: Promise<void>[] = []
  const abort = new AbortController()
  collect?.({ type: 'major' }) // what joining and the last phase left behind, before the clock starts
  const sendStart = clock()
  for (let first = 0; first < N; first += spec.batch) {
    const last = Math.min(N, first + spec.batch) - 1
    // a batch leaves when its last event is due, as the worker's queue would send it
    const wait = sendStart + (last * 1000) / job.ratePerSec - clock()
    if (wait > 0) await sleep(wait)
    const events = []
    for (let n = first; n <= last; n++) events.push({ id: randomUUID(), type: 'agent.message', data: { text: TEXT, p, n } })
    const body = JSON.stringify({ events })
    const t = clock()
    for (let n = first; n <= last; n++) viewers.sentAt[n] = t
    const post = first / spec.batch
    setTimeout(() => collectBetweenPosts(post, () => viewers.received() === viewers.joined.length * (last + 1)), COLLECT_AFTER_MS)
    unanswered++
    inflight.push(
      fetch(target.postUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(target.postToken ? { authorization: `Bearer ${target.postToken}` } : {}) },
        body,
        signal: abort.signal,
      }).then(
        async (res) => {
          const text = await res.text()
          unanswered--
          if (!res.ok && sendErrors.length < 5) sendErrors.push(`${res.status} ${text.slice(0, 200)}`)
        },
        (err) => {
          unanswered--
          if (!abort.signal.aborted && sendErrors.length < 5) sendErrors.push(`${String(err)} (${String(err?.cause?.code ?? err?.cause ?? '')})`)
        },
      ),
    )
  }
  // bounded: answers and deliveries get DRAIN_MS after the last send, then what is missing is counted as such
  const expected = viewers.joined.length * N
  const drainUntil = clock() + job.drainMs
  while ((unanswered > 0 || viewers.received() < expected) && clock() < drainUntil) await sleep(50)
  const sendMs = clock() - sendStart
  const cpu = process.cpuUsage(cpu0)
  report(`${target.label}: ${spec.name} done`, `phase-end:${p}`)
  const answer = summarize(viewers, spec, { sendErrors, sendMs, unanswered, expected, sendStart, cpu, gc: gcBetween(sendStart, clock()) })

  // then, unmeasured, let the server work off its backlog (bounded) so that it does not weigh on the next phase
  const settleUntil = clock() + (settleMs ?? 0)
  while ((unanswered > 0 || viewers.received() < expected) && clock() < settleUntil) await sleep(50)
  answer.backlogMs = unanswered > 0 || viewers.received() < expected ? null : clock() - sendStart - sendMs
  viewers.phase = -1
  abort.abort()
  await Promise.allSettled(inflight)
  return answer
}

function summarize(
  viewers: Viewers,
  spec: FanoutPhase,
  m: { sendErrors: string[]; sendMs: number; unanswered: number; expected: number; sendStart: number; cpu: NodeJS.CpuUsage; gc: { own: GcPauses; between: GcPauses } },
): PhaseAnswer {
  const { N } = viewers
  const received = viewers.received()
  const all = new Float64Array(received)
  let k = 0
  const lastViewer = new Float64Array(N).fill(NaN)
  for (const v of viewers.joined) {
    for (let n = 0; n < N; n++) {
      const l = viewers.latency[v * N + n]!
      if (Number.isNaN(l)) continue
      all[k++] = l
      if (!(lastViewer[n]! >= l)) lastViewer[n] = l
    }
  }
  const lastKnown = Array.from(lastViewer).filter((x) => !Number.isNaN(x))
  const worst = Array.from(lastViewer, (ms, n) => ({ atMs: Math.round(viewers.sentAt[n]! - m.sendStart), ms: Math.round(ms) }))
    .filter((w) => !Number.isNaN(w.ms))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 3)
  return {
    name: spec.name,
    target: viewers.target.label,
    batch: spec.batch,
    sent: N,
    sendErrors: m.sendErrors,
    sendMs: m.sendMs,
    unanswered: m.unanswered,
    expected: m.expected,
    received,
    outOfOrder: viewers.outOfOrder,
    duplicates: viewers.duplicates,
    disconnects: viewers.disconnects,
    p50: quantile(all, 0.5),
    p99: quantile(all, 0.99),
    max: all.reduce((x, y) => Math.max(x, y), 0),
    lastViewerP50: quantile(lastKnown, 0.5),
    lastViewerP99: quantile(lastKnown, 0.99),
    worst,
    clientCpu: ((m.cpu.user + m.cpu.system) / 1000 / m.sendMs) * 100,
    clientGc: m.gc,
    backlogMs: null,
  }
}

serveChild<FanoutJob, FanoutAnswer>(async (job) => {
  const byLabel = new Map(job.targets.map((t) => [t.label, new Viewers(t, job.events)]))
  for (const t of job.targets) {
    const warm = new Viewers({ ...t, label: `warm-up ${t.label}`, specId: t.warmupSpecId, tokens: t.tokens.slice(0, job.warmup) }, job.events)
    await warm.joinAll(job.presenceTickMs)
    warm.leaveAll()
  }
  await sleep(LEAVE_MS) // the servers see the warm-up viewers go
  const rounds = new Map(job.targets.map((t) => [t.label, [] as Omit<TargetAnswer, 'joinRoundsMs'>[]]))
  for (let r = 0; r < job.joinRounds; r++) {
    const order = r % 2 === 0 ? job.targets : [...job.targets].reverse()
    for (const t of order) {
      const viewers = byLabel.get(t.label)!
      if (r > 0) {
        viewers.leaveAll()
        await sleep(LEAVE_MS)
      }
      await collectBoth()
      rounds.get(t.label)!.push(await viewers.joinAll(job.presenceTickMs))
    }
  }
  const targets: TargetAnswer[] = job.targets.map((t) => {
    const all = rounds.get(t.label)!
    const last = all.at(-1)!
    return {
      ...last,
      joinMs: quantile(all.map((a) => a.joinMs), 0.5),
      joinRoundsMs: all.map((a) => a.joinMs),
      presencePerTick: Math.max(...all.map((a) => a.presencePerTick)),
    }
  })
  // the parent may probe the servers with the viewers in place; it answers when it is done
  await new Promise<void>((resolve) => {
    process.once('message', () => resolve())
    report('every viewer joined', 'joined')
  })
  for (const v of byLabel.values()) await warmSender(v.target)
  await sleep(2_000) // their deliveries land
  for (const v of byLabel.values()) v.lastSeq.fill(0)
  const phases: PhaseAnswer[] = []
  for (const [p, spec] of job.phases.entries()) {
    const last = p === job.phases.length - 1
    phases.push(await runPhase(job, p, byLabel.get(spec.target)!, last ? null : job.settleMs))
    await sleep(300)
  }
  for (const v of byLabel.values()) for (const s of v.sockets) s?.disconnect()
  return { targets, phases }
})
