import { formatDuration } from '../lib/format.ts'
import type { Delivery } from '../types.ts'

/** What a spec delivered (CONTRACT §4 `delivery`): its branch, the check the server ran, the size of the change, the PR. */
export function DeliveryPanel(props: { delivery: Delivery | null | undefined }) {
  const d = props.delivery
  if (!d) return null
  const files = Array.isArray(d.files_changed) ? d.files_changed.length : d.files_changed
  return (
    <section class="panel delivery" aria-labelledby="delivery-title" data-testid="delivery-panel">
      <h2 id="delivery-title" class="panel__title">
        Delivery
      </h2>
      <dl class="defs">
        <div>
          <dt>Branch</dt>
          <dd>
            <code data-testid="delivery-branch">{d.branch}</code> from <code>{d.base}</code>
            {d.commit ? (
              <>
                {' '}
                at <code title={d.commit}>{d.commit.slice(0, 10)}</code>
              </>
            ) : null}
          </dd>
        </div>
        <div>
          <dt>Check</dt>
          <dd data-testid="delivery-check" data-passed={d.check ? String(d.check.passed) : undefined}>
            {d.check ? (
              <>
                <strong class={d.check.passed ? 'ok-text' : 'field__error'}>{d.check.passed ? 'passed' : 'failed'}</strong>: <code>{d.check.command}</code>{' '}
                in {formatDuration(d.check.duration_ms)}
              </>
            ) : (
              'no check command'
            )}
          </dd>
        </div>
        <div>
          <dt>Changes</dt>
          <dd data-testid="delivery-size">
            {files} file{files === 1 ? '' : 's'}, <span class="ok-text">+{d.insertions}</span> <span class="field__error">−{d.deletions}</span>
          </dd>
        </div>
        {d.pull_request ? (
          <div>
            <dt>Pull request</dt>
            <dd>
              <a href={d.pull_request.url} rel="external noopener" target="_blank" data-testid="delivery-pr">
                #{d.pull_request.number}
              </a>
            </dd>
          </div>
        ) : null}
      </dl>
    </section>
  )
}
