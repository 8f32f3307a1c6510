import type { Api } from './api.ts'
import { startFakeModel, type FakeModel, type FakeModelOptions } from './fake-model.ts'
import { startTestServer, type TestServer } from './server.ts'
import { waitFor } from './wait.ts'

/** The real server wired to a fake model API (reached by the real SDK through ANTHROPIC_BASE_URL). */
export async function startWithModel(
  options: FakeModelOptions = {},
  env: Record<string, string> = {},
): Promise<{ server: TestServer; model: FakeModel }> {
  const model = await startFakeModel(options)
  const server = await startTestServer({
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: model.url,
    ...env,
  })
  return { server, model }
}

/** Waits until the spec's status is one of `statuses`; returns the spec. */
export async function waitForStatus(api: Api, specId: string, statuses: string[], timeoutMs = 90_000) {
  return waitFor(
    async () => {
      const spec = (await api.get(`/specs/${specId}`)).body
      return statuses.includes(spec.status) ? spec : null
    },
    { timeoutMs, intervalMs: 100, what: `spec ${specId} to be ${statuses.join(' or ')}` },
  )
}

/** Every event of a spec, oldest first. */
export async function allEvents(api: Api, specId: string): Promise<{ seq: number; id: string; type: string; data: any; source: string; sandbox_id: string | null }[]> {
  const res = await api.get(`/specs/${specId}/events?after_seq=0&limit=500`)
  return res.body.events
}

/** Launches a spec titled `title` in the project (201 expected); answers its id. */
export async function launchSpec(api: Api, projectId: string, title: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api.post('/specs/launch', { project_id: projectId, title, description: `${title}, please`, ...extra })
  if (res.status !== 201) throw new Error(`launch failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.spec_id
}
