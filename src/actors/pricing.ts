/**
 * USD per million tokens, by model family. One table, in one place; an unknown model is priced as Sonnet so a
 * budget still means something.
 */
const PRICES: { match: RegExp; input: number; output: number }[] = [
  { match: /opus/i, input: 15, output: 75 },
  { match: /haiku/i, input: 1, output: 5 },
  { match: /sonnet/i, input: 3, output: 15 },
]
const DEFAULT = { input: 3, output: 15 }

export function priceUsage(model: string, usage: { input_tokens: number; output_tokens: number }): number {
  const p = PRICES.find((x) => x.match.test(model)) ?? DEFAULT
  return (usage.input_tokens * p.input + usage.output_tokens * p.output) / 1_000_000
}
