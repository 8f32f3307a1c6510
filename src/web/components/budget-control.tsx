import { useSignal } from '@preact/signals'
import { errorMessage } from '../api.ts'
import { formatCost } from '../lib/format.ts'
import type { SpecRoom } from '../state/spec-room.ts'
import type { Spec } from '../types.ts'
import { controlProps } from './field.tsx'

/**
 * The spec's budget, and for people who may steer it a way to change it (PATCH /specs/:id). A spec paused over its
 * budget says so here; once the budget is raised, Resume works.
 */
export function BudgetControl(props: { room: SpecRoom; spec: Spec; canEdit: boolean }) {
  const { room, spec, canEdit } = props
  const editing = useSignal(false)
  const value = useSignal('')
  const error = useSignal<string | null>(null)
  const saving = useSignal(false)
  const budget = typeof spec.budget_usd === 'number' ? spec.budget_usd : null
  const over = budget !== null && spec.cost_usd >= budget

  const save = async (e: Event) => {
    e.preventDefault()
    const text = value.value.trim()
    const next = text === '' ? null : Number(text)
    if (next !== null && (!Number.isFinite(next) || next < 0)) {
      error.value = 'Enter an amount in US dollars, such as 5 or 2.50, or leave it empty for no limit.'
      return
    }
    saving.value = true
    error.value = null
    try {
      await room.setBudget(next)
      editing.value = false
    } catch (err) {
      error.value = errorMessage(err)
    } finally {
      saving.value = false
    }
  }

  return (
    <section class="panel budget" aria-labelledby="budget-title" data-testid="budget">
      <h2 id="budget-title" class="panel__title">
        Budget
      </h2>
      <p data-testid="budget-text">
        {formatCost(spec.cost_usd)} spent
        {budget !== null ? ` of ${formatCost(budget)}` : ', no limit'}
      </p>
      {over && spec.status === 'paused' ? (
        <p class="callout" data-testid="budget-exceeded">
          Paused: the spec has spent its budget. {canEdit ? 'Raise the budget, then resume.' : ''}
        </p>
      ) : null}
      {canEdit && !editing.value ? (
        <button
          type="button"
          class="btn btn--small"
          data-testid="budget-edit"
          onClick={() => {
            value.value = budget === null ? '' : String(budget)
            error.value = null
            editing.value = true
          }}
        >
          Change budget
        </button>
      ) : null}
      {canEdit && editing.value ? (
        <form class="message-form" onSubmit={save} data-testid="budget-form">
          <label class="field__label" for="budget-input">
            Budget in US dollars (empty: no limit)
          </label>
          <div class="message-form__row">
            <input
              {...controlProps('budget-input', error.value)}
              type="text"
              inputMode="decimal"
              autoComplete="off"
              data-testid="budget-input"
              value={value.value}
              onInput={(ev) => {
                value.value = ev.currentTarget.value
                error.value = null
              }}
            />
            <button type="submit" class="btn btn--primary" data-testid="budget-save" disabled={saving.value}>
              {saving.value ? 'Saving…' : 'Save'}
            </button>
            <button type="button" class="btn btn--ghost" onClick={() => (editing.value = false)}>
              Cancel
            </button>
          </div>
          {error.value ? (
            <p class="field__error" id="budget-input-error" role="alert" data-testid="budget-error">
              {error.value}
            </p>
          ) : null}
        </form>
      ) : null}
    </section>
  )
}
