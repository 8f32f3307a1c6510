import { MODELS, defaultModel } from '../src/actors/models.ts'
import { sdkDeprecations } from '../src/actors/model-deprecations.ts'
import { goodCompleteTask } from '../test/support/fixtures.ts'
import { startFakeModel, toolUseBlock, type CapturedRequest } from '../test/support/fake-model.ts'
import { freshDatabase } from './support/db.ts'
import { progress, runIfMain, type BenchResult } from './support/result.ts'
import { Client, startRealServer } from './support/server.ts'

/**
 * Agent cost (issue 10): a 40-turn task conversation replayed through the real worker and the real server's model
 * proxy, against the fake model, whose prompt cache works like the API's (a prefix up to a cache breakpoint written
 * once is read by every later request that starts with it; tokens are characters / 4). The agent makes 20 files of
 * 2–20 KB, reads them, lists and searches them (the tool outputs that fill real conversations), edits one and completes.
 * Figure: the input side of the bill with prompt caching, as the proxy priced it. Baseline, same run: the same requests
 * with every prompt token at the full input price, which is what they cost without caching.
 */

const TURNS = 40
const FILES = 20
const BUDGET_SAVING = 0.6

const called = (r: CapturedRequest) =>
  r.body.messages.flatMap((t) => (t.role === 'assistant' && Array.isArray(t.content) ? t.content : [])).filter((b) => b.type === 'tool_use').length

/** Turn n of the replay (0-based): make the files, then read, list and search them, edit one, complete. */
function turn(n: number) {
  const tool = (name: string, input: unknown) => ({ content: [{ type: 'text', text: `Step ${n + 1}.` }, toolUseBlock(name, input)], stop_reason: 'tool_use' })
  if (n === 0) {
    const sizes = Array.from({ length: FILES }, (_, i) => 2048 + Math.round((i * (20_480 - 2048)) / (FILES - 1)))
    return tool('run_command', { command: `${sizes.map((s, i) => `head -c ${s} /dev/urandom | base64 -w 100 | head -c ${s} > src${i}.txt`).join(' && ')}` })
  }
  if (n === TURNS - 2) return tool('write_file', { path: 'CHANGES.md', content: 'Read every source file.\n' })
  if (n === TURNS - 1) return tool('complete_task', goodCompleteTask)
  if (n % 7 === 0) return tool('list_files', {})
  if (n % 11 === 0) return tool('search', { pattern: 'AAAA' })
  return tool('read_file', { path: `src${(n * 7) % FILES}.txt` })
}

async function bench(): Promise<BenchResult> {
  const model = await startFakeModel({ script: (r) => turn(called(r)) })
  const database = await freshDatabase('agent_cost')
  const server = await startRealServer(database, { ANTHROPIC_API_KEY: 'bench-key', ANTHROPIC_BASE_URL: model.url })
  try {
    const user = await new Client(server.url).signup()
    const projectId = await user.project()
    progress(`replaying a ${TURNS}-turn task through the worker and the proxy`)
    const ticket = await user.call<{ spec_id: string }>('POST', '/tickets', {
      project_id: projectId,
      title: 'Read the sources',
      description: 'Read every source file and note it.',
    })
    const deadline = Date.now() + 180_000
    let spec: { status: string; cost_usd: number; tokens: Record<string, number> }
    for (;;) {
      spec = await user.call('GET', `/specs/${ticket.spec_id}`)
      if (['completed', 'failed', 'cancelled'].includes(spec.status)) break
      if (Date.now() > deadline) throw new Error(`the replay did not finish (status ${spec.status})`)
      await new Promise((r) => setTimeout(r, 200))
    }
    const requests = model.requests.length
    const { events } = await user.call<{ events: { data: Record<string, number> }[] }>('GET', `/specs/${ticket.spec_id}/events?type=agent.usage&limit=500`)
    const info = MODELS[defaultModel(sdkDeprecations()) as keyof typeof MODELS]
    let cachedTokens = 0
    let plainTokens = 0
    let outputUsd = 0
    for (const { data: u } of events) {
      const read = u.cache_read_input_tokens ?? 0
      const write = u.cache_creation_input_tokens ?? 0
      cachedTokens += u.input_tokens! + (write * info.cache_write) / info.input + (read * info.cache_read) / info.input
      plainTokens += u.input_tokens! + write + read
      outputUsd += (u.output_tokens! * info.output) / 1e6
    }
    const cachedUsd = (cachedTokens * info.input) / 1e6
    const plainUsd = (plainTokens * info.input) / 1e6
    const saving = 1 - cachedUsd / plainUsd
    const usd = (x: number) => `$${x.toFixed(4)}`
    const tok = (x: number) => `${Math.round(x).toLocaleString('en-US')} billed input-token equivalents`
    return {
      name: 'agent-cost',
      figure: `input with caching ${usd(cachedUsd)} (${tok(cachedTokens)})`,
      baseline: `without caching ${usd(plainUsd)} (${tok(plainTokens)})`,
      ratio: cachedUsd / plainUsd,
      ratioLabel: `${(saving * 100).toFixed(1)} % of input cost saved`,
      budget: { text: `caching saves ≥ ${BUDGET_SAVING * 100} % of input cost on a ${TURNS}-turn replay`, met: saving >= BUDGET_SAVING },
      notes: [
        `spec ${spec.status} after ${requests} model requests (${events.length} priced turns); proxy-priced cost ${usd(spec.cost_usd)}, output ${usd(outputUsd)}`,
        `spec tokens: ${JSON.stringify(spec.tokens)}`,
        `prices: ${defaultModel(sdkDeprecations())} — input $${info.input}, cache write $${info.cache_write}, cache read $${info.cache_read} per million`,
        `whole bill with caching ${usd(cachedUsd + outputUsd)} against ${usd(plainUsd + outputUsd)} without`,
      ],
    }
  } finally {
    await server.stop()
    await database.close()
    await model.close()
  }
}

runIfMain(import.meta.url, bench)
