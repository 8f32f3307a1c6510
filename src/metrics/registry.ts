import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Sql } from '../db/connect.ts'
import type { SpecBusMessage } from '../actors/bus.ts'
import type { ActorSummary } from '../actors/host-api.ts'

/** What the metrics read when they are scraped. */
export interface MetricsSources {
  sql: Sql
  nodeId: string
  liveActors: () => ActorSummary[]
}

/**
 * The Prometheus metrics of one server (its own registry: tests run several servers in one process). Gauges that
 * describe stored state (specs, sandboxes, leases, cost) are read from the database at scrape time; counters and
 * histograms are fed by the bus and the instrumented postgres.js client.
 */
/** agent.usage fields → the `kind` label of omoi_model_tokens_total (cache reads and writes are input billed apart). */
const USAGE_KINDS = [
  ['input_tokens', 'input'],
  ['output_tokens', 'output'],
  ['cache_read_input_tokens', 'cache_read'],
  ['cache_creation_input_tokens', 'cache_write'],
] as const

export class Metrics {
  readonly registry = new Registry()
  private sources: MetricsSources | undefined

  readonly eventsIngested = new Counter({
    name: 'omoi_events_ingested_total',
    help: 'Events stored in the spec logs by this node, by source (system, agent, user)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  })
  readonly fanoutSeconds = new Histogram({
    name: 'omoi_fanout_duration_seconds',
    help: 'Time to hand one committed batch of events to every subscriber (socket rooms, logs), in seconds',
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  })
  readonly modelCalls = new Counter({
    name: 'omoi_model_calls_total',
    help: 'Model calls made by the agents of this node (one agent.usage event each)',
    registers: [this.registry],
  })
  readonly modelTokens = new Counter({
    name: 'omoi_model_tokens_total',
    help: 'Model tokens used by the agents of this node, by kind (input, output, cache_read, cache_write)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })
  readonly dbSeconds = new Histogram({
    name: 'omoi_db_query_duration_seconds',
    help: 'Database round trips of this node, by kind (query, transaction), in seconds',
    labelNames: ['kind'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  })

  constructor() {
    const read = <T>(fn: (s: MetricsSources) => Promise<T>) => async () => (this.sources ? fn(this.sources) : undefined)
    new Gauge({
      name: 'omoi_specs',
      help: 'Specs by status (all nodes)',
      labelNames: ['status'] as const,
      registers: [this.registry],
      collect: read(async ({ sql }) => {
        const rows = await sql<{ status: string; n: number }[]>`select status, count(*)::int as n from specs group by status`
        this.gauge('omoi_specs').reset()
        for (const r of rows) this.gauge('omoi_specs').set({ status: r.status }, r.n)
      }),
    })
    new Gauge({
      name: 'omoi_live_actors',
      help: 'Spec actors running on this node, by machine state',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect: read(async ({ liveActors }) => {
        const counts = new Map<string, number>()
        for (const a of liveActors()) counts.set(a.state, (counts.get(a.state) ?? 0) + 1)
        this.gauge('omoi_live_actors').reset()
        for (const [state, n] of counts) this.gauge('omoi_live_actors').set({ state }, n)
      }),
    })
    new Gauge({
      name: 'omoi_sandboxes_running',
      help: 'Sandboxes running (all nodes), by provider',
      labelNames: ['provider'] as const,
      registers: [this.registry],
      collect: read(async ({ sql }) => {
        const rows = await sql<{ provider: string; n: number }[]>`
          select provider, count(*)::int as n from sandboxes where status = 'running' group by provider`
        this.gauge('omoi_sandboxes_running').reset()
        for (const r of rows) this.gauge('omoi_sandboxes_running').set({ provider: r.provider }, r.n)
      }),
    })
    new Gauge({
      name: 'omoi_model_cost_usd',
      help: 'Model cost priced into all specs so far, in USD (all nodes)',
      registers: [this.registry],
      collect: read(async ({ sql }) => {
        const [row] = await sql<{ usd: number }[]>`select coalesce(sum(cost_usd), 0)::float8 as usd from specs`
        this.gauge('omoi_model_cost_usd').set(row?.usd ?? 0)
      }),
    })
    new Gauge({
      name: 'omoi_leases_held',
      help: 'Spec actor leases this node holds',
      registers: [this.registry],
      collect: read(async ({ sql, nodeId }) => {
        const [row] = await sql<{ n: number }[]>`
          select count(*)::int as n from spec_actors where owner_node = ${nodeId} and final = false
            and (lease_expires_at is null or lease_expires_at > now())`
        this.gauge('omoi_leases_held').set(row?.n ?? 0)
      }),
    })
  }

  private gauge(name: string): Gauge {
    return this.registry.getSingleMetric(name) as Gauge
  }

  /** Where the scrape-time gauges read from (set once the database and the host exist). */
  attach(sources: MetricsSources): void {
    this.sources = sources
  }

  /** A bus listener: counts stored events and the model usage they report. */
  onBus(message: SpecBusMessage): void {
    if (message.kind !== 'events') return
    for (const event of message.events) {
      this.eventsIngested.inc({ source: event.source })
      if (event.type === 'agent.usage') {
        this.modelCalls.inc()
        const data = event.data as Record<string, unknown>
        for (const [field, kind] of USAGE_KINDS) {
          const count = data[field]
          if (typeof count === 'number' && count > 0) this.modelTokens.inc({ kind }, count)
        }
      }
    }
  }

  /** The Prometheus text exposition of every metric. */
  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType }
  }
}
