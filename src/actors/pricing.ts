import type { ModelInfo } from './models.ts'

/** Token counts of one model answer, as the Messages API reports them (cache fields absent without caching). */
export interface ModelUsage {
  input_tokens: number
  output_tokens: number
  cache_creation_input_tokens?: number | null
  cache_read_input_tokens?: number | null
}

/** What one answer costs in USD: uncached input, cache writes, cache reads and output each at their own rate. */
export function priceUsage(model: ModelInfo, usage: ModelUsage): number {
  const write = usage.cache_creation_input_tokens ?? 0
  const read = usage.cache_read_input_tokens ?? 0
  const long = model.long_prompt
  const p = long && usage.input_tokens + write + read > long.threshold ? long : model
  return (usage.input_tokens * p.input + write * p.cache_write + read * p.cache_read + usage.output_tokens * p.output) / 1_000_000
}
