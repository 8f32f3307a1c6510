import { AppError } from '../errors.ts'

/** What a spec has spent against its limit, both in USD; `budget_usd` null: no limit. */
export interface BudgetSpend {
  cost_usd: number
  budget_usd: number | null
}

/**
 * The one rule for "over budget", used by every check (commands, the model proxy, usage pricing): a budget is spent
 * once the cost reaches it, so a budget of 0 is spent before anything runs and a call landing exactly on the budget
 * ends the work. No limit is never spent.
 */
export function budgetSpent<T extends BudgetSpend>(spend: T): spend is T & { budget_usd: number } {
  return spend.budget_usd !== null && spend.cost_usd >= spend.budget_usd
}

/**
 * The steering commands that start agent work again, with what the refusal says cannot happen. The others (pause,
 * cancel, message) start nothing and are never refused for the budget.
 */
export const STARTS_AGENT_WORK: Readonly<Partial<Record<string, string>>> = {
  approve: 'go on past its approval',
  revise: 're-run the phase',
  resume: 'resume',
  retry: 'run again',
}

/** USD as a person reads it: up to the cost column's 6 decimals, without trailing zeros. */
const usd = (n: number) => `$${Number(n.toFixed(6))}`

/**
 * The 402 `budget_exceeded` for a command that would start agent work (`doing`, e.g. "approve") on a spec whose
 * budget is spent: says what it spent and how to go on.
 */
export function budgetRefusal(spend: BudgetSpend & { budget_usd: number }, doing: string): AppError {
  return new AppError(
    'budget_exceeded',
    `The spec has spent ${usd(spend.cost_usd)} of its ${usd(spend.budget_usd)} budget, so it cannot ${doing}: ` +
      'raise its budget_usd above what it has spent (PATCH /api/v1/specs/:id), then try again.',
  )
}

/** The 402 for launching with a budget that is spent before anything runs (budget_usd 0). */
export function launchBudgetRefusal(budgetUsd: number): AppError {
  return new AppError(
    'budget_exceeded',
    `A budget of ${usd(budgetUsd)} is spent before the spec starts, so it was not launched: give a budget_usd above 0, ` +
      'or leave it out for no limit.',
  )
}
