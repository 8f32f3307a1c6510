import { describe, expect, it } from 'vitest'
import { evaluatePhase } from '../../src/actors/evaluators.ts'
import { planSync } from '../../src/actors/sync-plan.ts'
import { AGENT_PHASES } from '../../src/schemas/phase-outputs.ts'
import { badSpecs, goodSpecs } from '../fixtures/specs/index.ts'

const phases = goodSpecs.flatMap((spec) =>
  AGENT_PHASES.map((phase) => ({ spec, phase, expected: spec.expected?.[phase] ?? ('accept' as const) })),
)

describe('the corpus of well-formed specs', () => {
  it('spans the styles people use, in more than one script', () => {
    expect(goodSpecs.length).toBeGreaterThanOrEqual(10)
    expect(new Set(goodSpecs.map((s) => s.style))).toEqual(new Set(['kiro', 'spec-kit', 'plain']))
    expect(goodSpecs.some((s) => s.language === 'zh') && goodSpecs.some((s) => s.language === 'ja')).toBe(true)
  })

  it.each(phases.map((p) => [p.spec.name, p.phase, p] as const))('%s: %s gets its expected verdict', (_, phase, { spec, expected }) => {
    const verdict = evaluatePhase(phase, spec.outputs[phase], spec.outputs)
    if (expected === 'accept') {
      expect(verdict.feedback).toMatch(/^Accepted/)
      expect(verdict.accepted).toBe(true)
    } else {
      expect(verdict.accepted).toBe(false)
      expect(verdict.feedback).toContain(expected.reject)
    }
  })

  it('rejects at most one phase in ten, each with a stated reason', () => {
    const rejected = phases.filter((p) => p.expected !== 'accept')
    expect(rejected.length * 10).toBeLessThanOrEqual(phases.length)
    for (const p of rejected) expect(p.expected).toMatchObject({ reject: expect.stringMatching(/\w{3}/) })
  })

  it.each(goodSpecs.map((s) => [s.name, s] as const))('%s: SYNC accepts the plan', (_, spec) => {
    const plan = planSync(spec.outputs.requirements, spec.outputs.tasks)
    expect(plan.errors).toEqual([])
    expect(plan.order).toHaveLength(spec.outputs.tasks.tasks.length)
  })
})

describe('plainly bad specs', () => {
  it.each(badSpecs.map((b) => [b.name, b] as const))('%s is rejected, naming the item and the problem', (_, bad) => {
    const verdict = evaluatePhase(bad.phase, bad.output, bad.prior ?? {})
    expect(verdict.accepted).toBe(false)
    expect(verdict.feedback).toMatch(/^Rejected \(score 0\.\d\d/)
    for (const text of bad.feedback) expect(verdict.feedback).toContain(text)
  })
})
