import { useLayoutEffect, useRef } from 'preact/hooks'
import { formatScore } from '../lib/format.ts'
import type { Step, StepState } from '../lib/phases.ts'

const STATE_LABELS: Record<StepState, string> = {
  done: 'done',
  current: 'in progress',
  awaiting: 'awaiting approval',
  paused: 'paused',
  failed: 'failed',
  cancelled: 'cancelled',
  pending: 'not started',
}

const MARKERS: Record<StepState, string> = {
  done: '✓',
  current: '●',
  awaiting: '?',
  paused: 'Ⅱ',
  failed: '✕',
  cancelled: '–',
  pending: '',
}

/** explore → … → done, with each phase's state, attempts, evaluator score and why attempts failed. */
export function PhaseStepper(props: { steps: Step[] }) {
  const list = useRef<HTMLOListElement>(null)
  const at = props.steps.find((s) => s.current)?.phase
  // On a narrow screen the stepper scrolls sideways: bring the current phase into view (without scrolling the page).
  useLayoutEffect(() => {
    const el = list.current
    const step = el?.querySelector<HTMLElement>('[aria-current="step"]')
    if (!el || !step || el.scrollWidth <= el.clientWidth) return
    el.scrollLeft = step.offsetLeft - (el.clientWidth - step.offsetWidth) / 2
  }, [at])
  return (
    <ol class="stepper" data-testid="phase-stepper" aria-label="Phases" tabIndex={0} ref={list}>
      {props.steps.map((s, i) => (
        <li
          key={s.phase}
          class={`step step--${s.state}${s.current ? ' step--at' : ''}`}
          data-testid={`phase-step-${s.phase}`}
          data-state={s.state}
          aria-current={s.current ? 'step' : undefined}
        >
          <span class="step__marker" aria-hidden="true">
            {MARKERS[s.state] || i + 1}
          </span>
          <span class="step__body">
            <span class="step__label">{s.label}</span>
            <span class="step__state">{STATE_LABELS[s.state]}</span>
            {s.attempts > 0 || s.evalScore !== null ? (
              <span class="step__meta">
                {s.attempts > 0 ? (
                  <span data-testid={`phase-attempts-${s.phase}`}>
                    {s.attempts} attempt{s.attempts === 1 ? '' : 's'}
                  </span>
                ) : null}
                {s.evalScore !== null ? (
                  <span data-testid={`phase-score-${s.phase}`} title="Evaluator score (accepted at 0.70)">
                    score {formatScore(s.evalScore)}
                  </span>
                ) : null}
              </span>
            ) : null}
            {s.failures.length > 0 ? (
              <details class="step__failures" data-testid={`phase-failures-${s.phase}`}>
                <summary>
                  {s.failures.length} rejection{s.failures.length === 1 ? '' : 's'}
                </summary>
                <ul>
                  {s.failures.map((f, j) => (
                    <li key={j}>{f}</li>
                  ))}
                </ul>
              </details>
            ) : null}
          </span>
        </li>
      ))}
    </ol>
  )
}
