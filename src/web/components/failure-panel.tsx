import { PHASE_LABELS } from '../lib/phases.ts'
import type { Failure } from '../lib/failures.ts'
import { formatScore } from '../lib/format.ts'
import type { SpecPhase } from '../types.ts'
import { JsonView } from './json-view.tsx'

/** Why the spec failed: the reason, then each rejected submission with its verdict, feedback and the output itself. */
export function FailurePanel(props: { failure: Failure }) {
  const { phase, task, reason, rejections } = props.failure
  const where = task ? `Task ${task}` : phase ? (PHASE_LABELS[phase as SpecPhase] ?? phase) : 'The spec'
  return (
    <section class="panel failure" aria-labelledby="failure-title" data-testid="failure-panel">
      <h2 id="failure-title" class="panel__title">
        {where} failed
      </h2>
      <p class="failure__reason" data-testid="failure-reason">
        {reason}
      </p>
      {rejections.length > 0 ? (
        <ol class="failure__attempts" data-testid="failure-attempts">
          {rejections.map((r) => (
            <li key={r.n} data-testid="failure-attempt" data-n={r.n}>
              <p>
                <strong>Submission {r.n}</strong> rejected{r.score !== null ? ` (score ${formatScore(r.score)})` : ''}: {r.feedback}
              </p>
              {r.output !== undefined ? (
                <details>
                  <summary>The rejected output</summary>
                  <JsonView value={r.output} label={`Rejected output ${r.n}`} />
                </details>
              ) : null}
            </li>
          ))}
        </ol>
      ) : null}
    </section>
  )
}
