import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { budgetRefusal, budgetSpent, STARTS_AGENT_WORK } from '../../src/actors/budget.ts'
import { UpdateSpecSchema } from '../../src/schemas/api.ts'

/** The one "over budget" rule (src/actors/budget.ts) and the budget_usd a spec may be given. */

describe('budgetSpent', () => {
  it('a budget is spent once the cost reaches it: exactly on it counts, a budget of 0 is spent at once, none never is', () => {
    expect(budgetSpent({ cost_usd: 0.0062, budget_usd: 0.0063 })).toBe(false)
    expect(budgetSpent({ cost_usd: 0.0063, budget_usd: 0.0063 })).toBe(true)
    expect(budgetSpent({ cost_usd: 0.006315, budget_usd: 0.0063 })).toBe(true)
    expect(budgetSpent({ cost_usd: 0, budget_usd: 0 })).toBe(true)
    expect(budgetSpent({ cost_usd: 1e6, budget_usd: null })).toBe(false)
  })

  it("the refusal is a 402 budget_exceeded that names the spend and says to raise budget_usd", () => {
    const err = budgetRefusal({ cost_usd: 0.006315, budget_usd: 0.0063 }, STARTS_AGENT_WORK.approve!)
    expect(err.code).toBe('budget_exceeded')
    expect(err.status).toBe(402)
    expect(err.message).toMatch(/\$0\.006315 of its \$0\.0063 budget/)
    expect(err.message).toMatch(/raise its budget_usd/)
  })

  it('only the commands that start agent work are refused over budget', () => {
    expect(Object.keys(STARTS_AGENT_WORK).sort()).toEqual(['approve', 'resume', 'retry', 'revise'])
  })
})

describe('budget_usd', () => {
  const issues = (budget_usd: unknown) => v.safeParse(UpdateSpecSchema, { budget_usd }).issues?.map((i) => i.message) ?? []

  it('takes 0, null and amounts of up to 4 decimals, the largest the column holds included', () => {
    for (const ok of [0, null, 0.0001, 0.0063, 5, 12_345_678.1234, 99_999_999, 0.1 + 0.2]) expect(issues(ok), String(ok)).toEqual([])
  })

  it('refuses more decimals than are stored instead of rounding them away', () => {
    for (const bad of [0.006315, 1e-7, 0.00005, 1.23456]) expect(issues(bad), String(bad)).toEqual(['budget_usd must have at most 4 decimal places (1/100 of a cent)'])
  })
})
