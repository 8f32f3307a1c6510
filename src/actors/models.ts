import type Anthropic from '@anthropic-ai/sdk'

/** What one model costs and allows. Prices are USD per million tokens; sizes are tokens. */
export interface ModelInfo {
  input: number
  output: number
  /** A 5-minute cache write (the default `cache_control: {type: "ephemeral"}`). */
  cache_write: number
  cache_read: number
  context_window: number
  max_output: number
  /** A request whose prompt (input + cache reads + cache writes) exceeds `threshold` is billed at these rates instead. */
  long_prompt?: { threshold: number; input: number; output: number; cache_write: number; cache_read: number }
}

/** The model ids the installed SDK names (its `Model` type without the open `string` member). */
type KnownModel<T = Anthropic.Model> = T extends string ? (string extends T ? never : T) : never

const OPUS_4_5_ON = { input: 5, output: 25, cache_write: 6.25, cache_read: 0.5 }
const SONNET_4 = { input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 }
const FABLE_5 = { input: 10, output: 50, cache_write: 12.5, cache_read: 1 }
const FABLE_5_1 = { ...FABLE_5, cache_read: 0.25 }
const FABLE_5_2 = { input: 8, output: 40, cache_write: 10, cache_read: 0.2 }
const HAIKU_4_5 = { input: 1, output: 5, cache_write: 1.25, cache_read: 0.1 }
const WIDE = { context_window: 1_000_000, max_output: 128_000 }

/**
 * Every model the installed SDK lists, keyed by exact id: Anthropic's list prices (platform.claude.com pricing and
 * model pages, checked 2026-11-29; Sonnet 5.5 cache reads after the 2026-10-07 cut). The type makes this table
 * name exactly the SDK's models, so an SDK upgrade that adds one does not compile until it is priced here.
 */
export const MODELS: Record<KnownModel, ModelInfo> = {
  'claude-fable-5-2': { ...FABLE_5_2, ...WIDE },
  'claude-mythos-5-2': { ...FABLE_5_2, ...WIDE },
  'claude-fable-5-1': { ...FABLE_5_1, ...WIDE },
  'claude-mythos-5-1': { ...FABLE_5_1, ...WIDE },
  'claude-fable-5': { ...FABLE_5, ...WIDE },
  'claude-mythos-5': { ...FABLE_5, ...WIDE },
  'claude-mythos-preview': { input: 25, output: 125, cache_write: 31.25, cache_read: 2.5, ...WIDE },
  'claude-opus-5-5': { input: 4, output: 20, cache_write: 5, cache_read: 0.2, ...WIDE },
  'claude-opus-5': { ...OPUS_4_5_ON, ...WIDE },
  'claude-opus-4-8': { ...OPUS_4_5_ON, ...WIDE },
  'claude-opus-4-7': { ...OPUS_4_5_ON, ...WIDE },
  'claude-opus-4-6': { ...OPUS_4_5_ON, ...WIDE },
  'claude-opus-4-5': { ...OPUS_4_5_ON, context_window: 200_000, max_output: 64_000 },
  'claude-opus-4-5-20251101': { ...OPUS_4_5_ON, context_window: 200_000, max_output: 64_000 },
  'claude-sonnet-5-5': { input: 2, output: 10, cache_write: 2.5, cache_read: 0.1, ...WIDE },
  'claude-sonnet-5': { input: 2, output: 10, cache_write: 2.5, cache_read: 0.2, ...WIDE },
  'claude-sonnet-4-6': { ...SONNET_4, context_window: 1_000_000, max_output: 64_000 },
  'claude-sonnet-4-5': { ...SONNET_4, context_window: 200_000, max_output: 64_000 },
  'claude-sonnet-4-5-20250929': { ...SONNET_4, context_window: 200_000, max_output: 64_000 },
  'claude-haiku-5-5': {
    input: 0.1,
    output: 0.5,
    cache_write: 0.125,
    cache_read: 0.01,
    ...WIDE,
    long_prompt: { threshold: 100_000, input: 0.5, output: 2.5, cache_write: 0.625, cache_read: 0.05 },
  },
  'claude-haiku-4-5': { ...HAIKU_4_5, context_window: 200_000, max_output: 64_000 },
  'claude-haiku-4-5-20251001': { ...HAIKU_4_5, context_window: 200_000, max_output: 64_000 },
}

/** Limits assumed for a model the table lacks: the smallest window and output of the current models. */
export const UNKNOWN_MODEL_LIMITS = { context_window: 200_000, max_output: 64_000 } as const

export function knownModel(id: string): ModelInfo | undefined {
  return Object.hasOwn(MODELS, id) ? MODELS[id as KnownModel] : undefined
}

/** `claude-sonnet-5-5` → [5, 5, 0]; a dated snapshot ranks just below its alias. Not a Sonnet id → null. */
function sonnetVersion(id: string): [number, number, number] | null {
  const m = /^claude-sonnet-(\d+)(?:-(\d{1,2}))?(?:-(\d{8}))?$/.exec(id)
  if (!m) return null
  return [Number(m[1]), Number(m[2] ?? 0), m[3] ? 0 : 1]
}

/**
 * The newest Sonnet of the table that is not in the SDK's deprecation table: the default `OMOI_MODEL`. Derived, not
 * written down, so a newer SDK moves the default forward by itself.
 */
export function defaultModel(deprecated: ReadonlyMap<string, unknown>): string {
  const ranked = Object.keys(MODELS)
    .filter((id) => !deprecated.has(id))
    .map((id) => ({ id, v: sonnetVersion(id) }))
    .filter((x): x is { id: string; v: [number, number, number] } => x.v !== null)
    .sort((a, b) => b.v[0] - a.v[0] || b.v[1] - a.v[1] || b.v[2] - a.v[2])
  if (ranked.length === 0) throw new Error('the installed @anthropic-ai/sdk lists no Sonnet model that is not deprecated')
  return ranked[0]!.id
}
