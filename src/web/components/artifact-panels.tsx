import type { ComponentChildren } from 'preact'
import type { Design, Exploration, Requirements } from '../types.ts'
import { criterionId } from '../../schemas/artifact-markdown.ts'
import { coverageRows, uncoveredCriteria } from '../lib/coverage.ts'
import { JsonView } from './json-view.tsx'
import { Markdown } from './markdown.tsx'

/** What a tab shows before its phase has produced anything. */
export function NotYet(props: { what: string; testid: string }) {
  return (
    <p class="muted empty" data-testid={`${props.testid}-empty`}>
      No {props.what} yet. It appears here once that phase has been accepted.
    </p>
  )
}

function List(props: { title: string; items?: string[] | null; testid?: string }) {
  if (!props.items || props.items.length === 0) return null
  return (
    <section class="artifact__section" data-testid={props.testid}>
      <h3>{props.title}</h3>
      <ul>
        {props.items.map((item, i) => (
          <li key={i}>{item}</li>
        ))}
      </ul>
    </section>
  )
}

function Section(props: { title: string; children: ComponentChildren; testid?: string }) {
  return (
    <section class="artifact__section" data-testid={props.testid}>
      <h3>{props.title}</h3>
      {props.children}
    </section>
  )
}

export function ExplorationPanel(props: { value: Exploration | null }) {
  const x = props.value
  if (!x) return <NotYet what="exploration" testid="artifact-exploration" />
  return (
    <div class="artifact" data-testid="artifact-exploration">
      <Section title="Summary">
        <p class="prose">{x.summary}</p>
      </Section>
      {x.tech_stack?.length ? (
        <Section title="Tech stack">
          <ul class="chips">
            {x.tech_stack.map((t) => (
              <li key={t} class="chip">
                {t}
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
      {x.key_files?.length ? (
        <Section title="Key files" testid="exploration-key-files">
          <dl class="defs">
            {x.key_files.map((f) => (
              <div key={f.path}>
                <dt>
                  <code>{f.path}</code>
                </dt>
                <dd>{f.purpose}</dd>
              </div>
            ))}
          </dl>
        </Section>
      ) : null}
      <List title="Conventions" items={x.conventions} />
      <List title="In scope" items={x.scope_in} />
      <List title="Out of scope" items={x.scope_out} />
      <List title="Open questions" items={x.open_questions} />
    </div>
  )
}

export function RequirementsPanel(props: { value: Requirements | null }) {
  const reqs = props.value?.requirements
  if (!reqs) return <NotYet what="requirements" testid="artifact-requirements" />
  return (
    <ol class="artifact cards" data-testid="artifact-requirements">
      {reqs.map((r) => (
        <li key={r.id} class="card" data-testid="requirement" data-req-id={r.id}>
          <header class="card__head">
            <code class="id">{r.id}</code>
            <h3 class="card__title">{r.title}</h3>
            <span class={`badge badge--prio-${r.priority}`}>{r.priority}</span>
          </header>
          <p class="ears" data-testid="requirement-ears">
            {r.ears}
          </p>
          {r.acceptance_criteria?.length ? (
            <>
              <h4>Acceptance criteria</h4>
              <ul class="checklist">
                {r.acceptance_criteria.map((c, i) => (
                  <li key={i} data-testid="criterion" data-criterion-id={criterionId(r.id, i)}>
                    <code class="id">{criterionId(r.id, i)}</code> {c}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </li>
      ))}
    </ol>
  )
}

export function DesignPanel(props: { value: Design | null }) {
  const d = props.value
  if (!d) return <NotYet what="design" testid="artifact-design" />
  return (
    <div class="artifact" data-testid="artifact-design">
      <Section title="Overview">
        <Markdown text={d.overview} testid="design-overview" />
      </Section>
      {d.components?.length ? (
        <Section title="Components" testid="design-components">
          <ul class="cards">
            {d.components.map((c) => (
              <li key={c.name} class="card">
                <h4 class="card__title">{c.name}</h4>
                <p>{c.responsibility}</p>
                {c.files?.length ? (
                  <ul class="chips">
                    {c.files.map((f) => (
                      <li key={f} class="chip chip--code">
                        {f}
                      </li>
                    ))}
                  </ul>
                ) : null}
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
      {d.data_models?.length ? (
        <Section title="Data models" testid="design-data-models">
          <ul class="cards">
            {d.data_models.map((m) => (
              <li key={m.name} class="card">
                <h4 class="card__title">{m.name}</h4>
                <ul class="mono-list">
                  {m.fields.map((f, i) => (
                    <li key={i}>{f}</li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </Section>
      ) : null}
      {d.api?.length ? (
        <Section title="API" testid="design-api">
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Method</th>
                  <th scope="col">Path</th>
                  <th scope="col">Description</th>
                </tr>
              </thead>
              <tbody>
                {d.api.map((a, i) => (
                  <tr key={i}>
                    <td>
                      <code>{a.method}</code>
                    </td>
                    <td>
                      <code>{a.path}</code>
                    </td>
                    <td>{a.description}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Section>
      ) : null}
      <List title="Risks" items={d.risks} />
      {d.testing_strategy ? (
        <Section title="Testing strategy">
          <Markdown text={d.testing_strategy} />
        </Section>
      ) : null}
    </div>
  )
}

/** The SYNC coverage matrix: each requirement and acceptance criterion with the tasks that cover it. */
export function SyncPanel(props: { value: Record<string, unknown> | null }) {
  const s = props.value
  if (!s) return <NotYet what="sync result" testid="artifact-sync" />
  const rows = coverageRows(s)
  const uncovered = rows ? uncoveredCriteria(s, rows) : []
  const taskList = (tasks: string[]) => (tasks.length ? tasks.join(', ') : <strong class="warn-text">not covered</strong>)
  return (
    <div class="artifact" data-testid="artifact-sync">
      {rows ? (
        <Section title="Requirement coverage" testid="coverage">
          {uncovered.length > 0 ? (
            <p class="callout" data-testid="coverage-uncovered">
              Criteria no task covers: {uncovered.join(', ')}
            </p>
          ) : null}
          <div class="table-wrap">
            <table class="table" data-testid="coverage-table">
              <thead>
                <tr>
                  <th scope="col">Requirement or criterion</th>
                  <th scope="col">Covered by</th>
                </tr>
              </thead>
              <tbody>
                {rows.flatMap((r) => [
                  <tr key={r.requirement} class={r.tasks.length === 0 ? 'row--warn' : ''} data-testid="coverage-row" data-req-id={r.requirement}>
                    <th scope="row">
                      <code>{r.requirement}</code> {r.title}
                    </th>
                    <td data-testid="coverage-tasks">{taskList(r.tasks)}</td>
                  </tr>,
                  ...r.criteria.map((c) => (
                    <tr key={c.id} class={`row--sub ${c.tasks.length === 0 ? 'row--warn' : ''}`} data-testid="coverage-criterion" data-criterion-id={c.id}>
                      <td>
                        <code>{c.id}</code> {c.text}
                      </td>
                      <td data-testid="coverage-tasks">{taskList(c.tasks)}</td>
                    </tr>
                  )),
                ])}
              </tbody>
            </table>
          </div>
        </Section>
      ) : null}
      <details class="artifact__raw" open={!rows}>
        <summary>Raw sync result</summary>
        <JsonView value={s} label="Sync result" />
      </details>
    </div>
  )
}
