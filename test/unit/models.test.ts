import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { sdkDeprecations, parseEndOfLife } from '../../src/actors/model-deprecations.ts'
import { defaultModel, MODELS } from '../../src/actors/models.ts'
import { priceUsage } from '../../src/actors/pricing.ts'

const EOL = new Date('2026-11-30T00:00:00Z')
const table = new Map([
  ['claude-sonnet-4-5', EOL],
  ['claude-sonnet-4-5-20250929', EOL],
])

describe('the default model (issue 10 case 5)', () => {
  it('is read from the installed SDK: sonnet 4.5 is in its deprecation table with end of life 2026-11-30', () => {
    expect(sdkDeprecations().get('claude-sonnet-4-5')?.toISOString()).toBe('2026-11-30T00:00:00.000Z')
    expect(parseEndOfLife('January 22nd, 2027')?.toISOString().slice(0, 10)).toBe('2027-01-22')
  })

  it('is the newest Sonnet the SDK lists that it has not deprecated, not claude-sonnet-4-5', () => {
    expect(defaultModel(sdkDeprecations())).toBe('claude-sonnet-5-5')
    expect(loadConfig({}).model.name).toBe('claude-sonnet-5-5')
    // were 5.5 and 5 deprecated too, the next one down would be chosen
    expect(defaultModel(new Map([['claude-sonnet-5-5', EOL], ['claude-sonnet-5', EOL]]))).toBe('claude-sonnet-4-6')
  })

  it('a configured deprecated model warns once with its end-of-life date', () => {
    const c = loadConfig({ OMOI_MODEL: 'claude-sonnet-4-5' }, { now: new Date('2026-11-29T12:00:00Z'), deprecations: table })
    expect(c.model.name).toBe('claude-sonnet-4-5')
    expect(c.warnings).toEqual([expect.stringMatching(/^OMOI_MODEL claude-sonnet-4-5 is deprecated and reaches its end of life on 2026-11-30/)])
  })

  it('past its end of life the start stops with one line naming OMOI_MODEL', () => {
    expect(() => loadConfig({ OMOI_MODEL: 'claude-sonnet-4-5' }, { now: EOL, deprecations: table })).toThrow(
      new ConfigError(
        'invalid setting OMOI_MODEL: claude-sonnet-4-5 reached its end of life on 2026-11-30; use claude-sonnet-5-5 (the default) or another current model',
      ),
    )
  })

  it('the default itself never warns', () => {
    expect(loadConfig({}, { now: new Date('2026-11-29T12:00:00Z') }).warnings).toEqual([])
  })
})

describe('the model table and prices (issue 10 case 6)', () => {
  it('prices by exact id: Opus 4.5 and later are not priced like older Opus', () => {
    const usage = { input_tokens: 1_000_000, output_tokens: 1_000_000 }
    expect(priceUsage(MODELS['claude-opus-4-5'], usage)).toBe(30)
    expect(priceUsage(MODELS['claude-opus-5-5'], usage)).toBe(24)
    expect(priceUsage(MODELS['claude-sonnet-5-5'], usage)).toBe(12)
  })

  it('prices cache writes and reads at their own rates', () => {
    const usage = { input_tokens: 1_000, output_tokens: 0, cache_creation_input_tokens: 1_000_000, cache_read_input_tokens: 1_000_000 }
    // sonnet 4.6: 1,000 × $3 + 1M × $3.75 + 1M × $0.30 per million
    expect(priceUsage(MODELS['claude-sonnet-4-6'], usage)).toBeCloseTo(0.003 + 3.75 + 0.3, 9)
  })

  it('a Haiku 5.5 prompt over 100k tokens is billed at the long-prompt rates, output included', () => {
    const short = priceUsage(MODELS['claude-haiku-5-5'], { input_tokens: 100_000, output_tokens: 1_000_000 })
    const long = priceUsage(MODELS['claude-haiku-5-5'], { input_tokens: 50_000, cache_read_input_tokens: 60_000, output_tokens: 1_000_000 })
    expect(short).toBeCloseTo(0.01 + 0.5, 9)
    expect(long).toBeCloseTo(0.025 + 0.003 + 2.5, 9)
  })

  it('an unknown model takes OMOI_MODEL_PRICE, or warns that costs are estimated', () => {
    const priced = loadConfig({ OMOI_MODEL: 'claude-x', OMOI_MODEL_PRICE: '4, 16' })
    expect(priced.model.info).toMatchObject({ input: 4, output: 16, cache_write: 5, cache_read: expect.closeTo(0.4, 9) })
    expect(priced.warnings).toEqual([])
    const guessed = loadConfig({ OMOI_MODEL: 'claude-x' })
    expect(guessed.warnings).toEqual([expect.stringContaining('OMOI_MODEL claude-x is not in the price table: costs are estimated')])
    expect(guessed.model.info.input).toBe(MODELS['claude-sonnet-5-5'].input)
  })

  it.each([
    [{ OMOI_MODEL_PRICE: '3' }, 'invalid setting OMOI_MODEL_PRICE: OMOI_MODEL_PRICE must be "input,output" in USD per million tokens, e.g. "3,15"'],
    [{ OMOI_MODEL_TIMEOUT_MS: '10' }, 'invalid setting OMOI_MODEL_TIMEOUT_MS: OMOI_MODEL_TIMEOUT_MS must be at least 1000'],
  ])('%o is refused with one line naming the setting', (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message))
  })

  it('the proxy timeout defaults to 10 minutes', () => {
    expect(loadConfig({}).model.timeoutMs).toBe(600_000)
  })
})
