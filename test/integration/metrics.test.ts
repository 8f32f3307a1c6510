import { networkInterfaces } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asUser, type Api } from '../support/api.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { launchSpec, startWithModel, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import type { TestServer } from '../support/server.ts'
import { runningSandbox } from '../support/stack.ts'

const TOKEN = 'metrics-token-0123456789'
let server: TestServer
let model: FakeModel
let owner: Api

// served on every interface, so the test can also call it from this machine's non-loopback address
beforeAll(async () => {
  ;({ server, model } = await startWithModel({}, { HOST: '0.0.0.0', OMOI_METRICS_TOKEN: TOKEN }))
  owner = await asUser(server.url, 'Owner')
})
afterAll(async () => {
  await server?.stop()
  await model?.close()
})

const scrape = async (base = server.url, headers: Record<string, string> = {}) => {
  const res = await fetch(`${base}/metrics`, { headers })
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
}
/** The value of one sample, e.g. `value(text, 'omoi_specs{status="completed"}')`. */
const value = (text: string, sample: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `))
  return line === undefined ? undefined : Number(line.slice(sample.length + 1))
}

describe('GET /metrics', () => {
  it('tells specs, actors, sandboxes, events, model use, database and fan-out timings while a spec runs and after', async () => {
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const specId = await launchSpec(owner, project.id, 'Metered')
    await runningSandbox(server.database.sql, specId, { phase: 'explore' })
    const during = await scrape()
    expect(during.status).toBe(200)
    expect(during.type).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(value(during.text, 'omoi_specs{status="executing"}')).toBe(1)
    expect(value(during.text, 'omoi_sandboxes_running{provider="local"}')).toBe(1)
    expect(value(during.text, 'omoi_leases_held')).toBe(1)
    expect(during.text).toMatch(/^omoi_live_actors\{state="[^"]+"\} 1$/m)

    expect((await waitForStatus(owner, specId, ['completed', 'failed'])).status).toBe('completed')
    const after = (await scrape()).text
    expect(value(after, 'omoi_specs{status="completed"}')).toBe(1)
    expect(value(after, 'omoi_specs{status="executing"}')).toBeUndefined()
    expect(value(after, 'omoi_leases_held')).toBe(0)
    expect(value(after, 'omoi_events_ingested_total{source="system"}')).toBeGreaterThan(10)
    expect(value(after, 'omoi_events_ingested_total{source="agent"}')).toBeGreaterThan(10)
    const calls = value(after, 'omoi_model_calls_total')!
    expect(calls).toBe(model.requests.length)
    const input = ['input', 'cache_read', 'cache_write'].map((kind) => value(after, `omoi_model_tokens_total{kind="${kind}"}`) ?? 0)
    expect(input.reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    expect(value(after, 'omoi_model_tokens_total{kind="output"}')).toBeGreaterThan(0)
    const spec = (await owner.get(`/specs/${specId}`)).body
    expect(value(after, 'omoi_model_cost_usd')).toBeCloseTo(spec.cost_usd, 6)
    expect(value(after, 'omoi_fanout_duration_seconds_count')).toBeGreaterThan(10)
    expect(value(after, 'omoi_db_query_duration_seconds_count{kind="query"}')).toBeGreaterThan(10)
    expect(value(after, 'omoi_db_query_duration_seconds_count{kind="transaction"}')).toBeGreaterThan(5)
  })

  it('answers other machines only with the Bearer token', async () => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)
    expect(external, 'this test needs a non-loopback IPv4 address').toBeDefined()
    const base = `http://${external!.address}:${server.port}`
    const refused = await scrape(base)
    expect(refused.status).toBe(401)
    expect(JSON.parse(refused.text).error.message).toMatch(/OMOI_METRICS_TOKEN/)
    expect((await scrape(base, { authorization: 'Bearer wrong' })).status).toBe(401)
    const allowed = await scrape(base, { authorization: `Bearer ${TOKEN}` })
    expect(allowed.status).toBe(200)
    expect(allowed.text).toContain('# TYPE omoi_specs gauge')
  })
})
