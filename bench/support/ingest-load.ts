import { randomUUID } from 'node:crypto'
import { serveChild } from './child.ts'

/** The senders of bench/ingest.ts: each posts batches of agent events, one request in flight at a time. */

export interface IngestJob {
  senders: { url: string; token: string | null }[]
  batch: number
  warmupMs: number
  durationMs: number
}

export interface IngestAnswer {
  /** Events the server accepted between the end of the warm-up and the end of the measurement. */
  accepted: number
  requests: number
  errors: string[]
  elapsedMs: number
  latenciesMs: number[]
}

const TOOLS = ['read_file', 'list_files', 'search', 'edit_file', 'run_command']

/** A realistic mix of worker events (~150–300 bytes of data each). */
function batchBody(n: number, i: number): string {
  const events = []
  for (let k = 0; k < n; k++) {
    const tool = TOOLS[(i + k) % TOOLS.length]!
    const kind = (i + k) % 3
    events.push(
      kind === 0
        ? { id: randomUUID(), type: 'agent.tool_use', data: { tool, input: { path: `src/module_${k}/file_${i % 97}.ts`, pattern: 'export function' } } }
        : kind === 1
          ? { id: randomUUID(), type: 'agent.tool_result', data: { tool, ok: true, summary: `read 120 lines of src/module_${k}/file_${i % 97}.ts; 3 matches` } }
          : { id: randomUUID(), type: 'agent.message', data: { text: 'Looking at how the routes validate their bodies before adding the due date field to the schema and the handler.' } },
    )
  }
  return JSON.stringify({ events })
}

serveChild<IngestJob, IngestAnswer>(async (job) => {
  const start = performance.now()
  const measureFrom = start + job.warmupMs
  const end = measureFrom + job.durationMs
  let accepted = 0
  let requests = 0
  const errors: string[] = []
  const latenciesMs: number[] = []
  let counter = 0
  await Promise.all(
    job.senders.map(async (s) => {
      // bounded: stops at the end of the window, or after 100,000 requests, whichever comes first
      for (let n = 0; n < 100_000 && performance.now() < end; n++) {
        const body = batchBody(job.batch, counter++)
        const t0 = performance.now()
        const res = await fetch(s.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(s.token ? { authorization: `Bearer ${s.token}` } : {}) },
          body,
        })
        const text = await res.text()
        const t1 = performance.now()
        if (!res.ok) {
          if (errors.length < 5) errors.push(`${res.status} ${text.slice(0, 200)}`)
          continue
        }
        const answer = JSON.parse(text) as { accepted: number }
        // a request counts when it completes inside the window (throughput = completions per second)
        if (t1 >= measureFrom && t1 <= end) {
          accepted += answer.accepted
          requests++
          latenciesMs.push(t1 - t0)
        }
      }
    }),
  )
  return { accepted, requests, errors, elapsedMs: job.durationMs, latenciesMs }
})
