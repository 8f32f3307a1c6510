import { useComputed, useSignal } from '@preact/signals'
import { useEffect, useMemo, useRef } from 'preact/hooks'
import { BudgetControl } from '../components/budget-control.tsx'
import { ChangesView } from '../components/changes-view.tsx'
import { DeliveryPanel } from '../components/delivery-panel.tsx'
import { ErrorBanner } from '../components/error-banner.tsx'
import { DesignPanel, ExplorationPanel, RequirementsPanel, SyncPanel } from '../components/artifact-panels.tsx'
import { PhaseStepper } from '../components/phase-stepper.tsx'
import { PresenceList } from '../components/presence.tsx'
import { SpecControls } from '../components/spec-controls.tsx'
import { StatusBadge } from '../components/status-badge.tsx'
import { Tabs } from '../components/tabs.tsx'
import { TasksPanel } from '../components/tasks-panel.tsx'
import { Timeline } from '../components/timeline.tsx'
import { FailurePanel } from '../components/failure-panel.tsx'
import { canEditSpec } from '../lib/controls.ts'
import { failureOf } from '../lib/failures.ts'
import { namesFrom } from '../lib/labels.ts'
import { formatCost, formatDateTime, formatTokens } from '../lib/format.ts'
import { approvalPhase, buildSteps } from '../lib/phases.ts'
import { boardPath, projectPath } from '../lib/routes.ts'
import { me } from '../state/auth.ts'
import { createSpecRoom, type SpecRoom } from '../state/spec-room.ts'
import type { Spec } from '../types.ts'

type ArtifactTab = 'exploration' | 'requirements' | 'design' | 'tasks' | 'sync' | 'changes'

const TABS: { key: ArtifactTab; label: string }[] = [
  { key: 'exploration', label: 'Exploration' },
  { key: 'requirements', label: 'Requirements' },
  { key: 'design', label: 'Design' },
  { key: 'tasks', label: 'Tasks' },
  { key: 'sync', label: 'Sync' },
]

/** The tab worth looking at for a phase: what was just produced, or what awaits approval. */
function tabFor(phase: Spec['current_phase']): ArtifactTab {
  if (phase === 'explore') return 'exploration'
  if (phase === 'requirements' || phase === 'design') return phase
  return 'tasks'
}

/** `/specs/:id`: watch a spec live and steer it. */
export function SpecRoomPage(props: { specId: string }) {
  const room = useMemo(() => createSpecRoom(props.specId), [props.specId])
  useEffect(() => room.start(), [room])

  const spec = room.spec.value
  if (!spec) {
    if (room.joinStatus.value === 'error') {
      const err = room.joinError.value
      const kind = err?.code === 'not_found' ? 'not-found' : err?.code === 'access_revoked' ? 'access-revoked' : 'join-error'
      const heading = { 'not-found': 'Spec not found', 'access-revoked': 'No longer allowed to see this spec', 'join-error': 'Could not open this spec' }[kind]
      const message = kind === 'not-found' ? 'There is no such spec, or you are not allowed to see it.' : (err?.message ?? 'Unknown error')
      return (
        <div class="page">
          <h1 tabIndex={-1} data-page-title>
            {heading}
          </h1>
          <div data-testid={`spec-${kind}`}>
            <ErrorBanner error={new Error(message)} onRetry={kind === 'join-error' ? room.rejoin : undefined} />
          </div>
          <p>
            <a href="/">Start a new spec</a> or <a href="/board">go to the board</a>.
          </p>
        </div>
      )
    }
    return (
      <div class="page" aria-busy="true">
        <h1 tabIndex={-1} data-page-title>
          Spec
        </h1>
        <p class="muted" data-testid="spec-loading">
          Joining the spec room…
        </p>
      </div>
    )
  }
  return <Room room={room} spec={spec} />
}

function Room(props: { room: SpecRoom; spec: Spec }) {
  const { room, spec } = props
  const user = me.value
  const events = room.events.value
  const steps = useComputed(() => (room.spec.value ? buildSteps(room.spec.value, room.events.value) : []))
  const waitingOn = useComputed(() => (room.spec.value ? approvalPhase(room.spec.value, room.events.value) : null))
  const names = useComputed(() => namesFrom([...room.people.value, ...room.viewers.value, ...(me.value ? [me.value] : [])], room.events.value))
  const failure = useComputed(() => (room.spec.value ? failureOf(room.spec.value.status, room.events.value) : null))
  const canEdit = canEditSpec({ user_id: spec.user_id, can_edit: room.serverCanEdit.value }, user)
  const tab = useSignal<ArtifactTab>(tabFor(spec.current_phase))
  const tabTouched = useSignal(false)
  const changesTask = useSignal<string | null>(null)

  // Follow the spec to the newest artifact until the person picks a tab themselves.
  useEffect(() => {
    if (!tabTouched.value) tab.value = waitingOn.value ? tabFor(waitingOn.value) : tabFor(spec.current_phase)
  }, [spec.current_phase, waitingOn.value])

  // The Tasks tab shows live task status: load it when opened.
  useEffect(() => {
    if (tab.value === 'tasks' && room.tickets.value === null) room.reloadTickets()
  }, [tab.value])

  useEffect(() => {
    document.title = `${spec.title} · omoi`
  }, [spec.title])

  // Arriving from the launch, focus was on a button that is gone: put it on the spec's title, not the body.
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    if (!document.activeElement || document.activeElement === document.body) heading.current?.focus({ preventScroll: true })
  }, [])

  const artifacts = room.artifacts.value
  return (
    <div class="page room" data-testid="spec-room" data-spec-id={spec.id} data-status={spec.status}>
      <header class="room__head">
        <div class="room__title">
          <h1 tabIndex={-1} data-page-title data-testid="spec-title" ref={heading}>
            {spec.title}
          </h1>
          <StatusBadge status={spec.status} testid="spec-status" />
          {room.joinStatus.value === 'joining' ? (
            <span class="muted small" data-testid="spec-rejoining">
              syncing…
            </span>
          ) : null}
        </div>
        <dl class="room__stats">
          <div>
            <dt>Cost</dt>
            <dd data-testid="spec-cost">
              {formatCost(spec.cost_usd)}
              {typeof spec.budget_usd === 'number' ? <span class="muted"> of {formatCost(spec.budget_usd)}</span> : null}
            </dd>
          </div>
          <div>
            <dt>Tokens</dt>
            <dd data-testid="spec-tokens">{formatTokens(spec.tokens)}</dd>
          </div>
          <div>
            <dt>Approval</dt>
            <dd data-testid="spec-approval">{spec.approval}</dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>{formatDateTime(spec.created_at)}</dd>
          </div>
          {spec.project_id ? (
            <div>
              <dt>Project</dt>
              <dd>
                <a href={projectPath(spec.project_id)} data-testid="spec-project-link">
                  specs and members
                </a>{' '}
                · <a href={boardPath(spec.project_id)}>tickets</a>
              </dd>
            </div>
          ) : null}
        </dl>
        {room.joinStatus.value === 'error' && room.joinError.value ? (
          <ErrorBanner
            error={new Error(`Live updates stopped: ${room.joinError.value.message}`)}
            testid="spec-join-error"
            onRetry={room.rejoin}
          />
        ) : null}
        <details class="room__description">
          <summary>Idea as written</summary>
          <p class="prose prose--pre">{spec.description}</p>
        </details>
      </header>

      <PhaseStepper steps={steps.value} />
      {failure.value ? <FailurePanel failure={failure.value} /> : null}
      <DeliveryPanel delivery={spec.delivery} />

      <div class="room__grid">
        <div class="room__side">
          <SpecControls room={room} spec={spec} canEdit={canEdit} approvalPhase={waitingOn.value} />
          <BudgetControl room={room} spec={spec} canEdit={canEdit} />
          <PresenceList viewers={room.viewers.value} meId={user?.id ?? null} />
        </div>
        <div class="room__timeline">
          <Timeline events={events} notice={room.backfillError.value} names={names.value} />
        </div>
        <section class="panel room__artifacts" aria-label="Artifacts" data-testid="artifacts">
          {room.artifactsError.value ? (
            <p class="field__error" role="alert" data-testid="artifacts-error">
              Could not load the artifacts: {room.artifactsError.value}{' '}
              <button type="button" class="btn btn--small" onClick={room.reloadArtifacts}>
                Try again
              </button>
            </p>
          ) : null}
          <Tabs
            tabs={spec.delivery ? [...TABS, { key: 'changes' as const, label: 'Changes' }] : TABS}
            selected={tab.value}
            onSelect={(k) => {
              tab.value = k
              tabTouched.value = true
            }}
            idPrefix="artifact"
            label="Artifacts"
            testid="artifact"
          >
            {(tab.value === 'requirements' || tab.value === 'design' || tab.value === 'tasks') && artifacts?.[tab.value] ? (
              <p class="artifact__export">
                <a
                  class="btn btn--small"
                  href={`/api/v1/specs/${encodeURIComponent(spec.id)}/artifacts/${tab.value}.md`}
                  download={`${tab.value}.md`}
                  data-testid="artifact-download"
                >
                  Download {tab.value}.md
                </a>
              </p>
            ) : null}
            {tab.value === 'exploration' ? <ExplorationPanel value={artifacts?.exploration ?? null} /> : null}
            {tab.value === 'requirements' ? <RequirementsPanel value={artifacts?.requirements ?? null} /> : null}
            {tab.value === 'design' ? <DesignPanel value={artifacts?.design ?? null} /> : null}
            {tab.value === 'tasks' ? (
              <TasksPanel
                plan={artifacts?.tasks ?? null}
                live={room.tickets.value}
                liveError={room.ticketsError.value}
                canRetry={canEdit}
                onShowChanges={
                  spec.delivery
                    ? (taskId) => {
                        changesTask.value = taskId
                        tab.value = 'changes'
                        tabTouched.value = true
                      }
                    : undefined
                }
                onRetryTask={async (taskId) => {
                  const ack = await room.command('retry', { task_id: taskId })
                  room.reloadTickets()
                  return ack
                }}
              />
            ) : null}
            {tab.value === 'sync' ? <SyncPanel value={artifacts?.sync ?? null} /> : null}
            {tab.value === 'changes' && spec.delivery ? (
              <ChangesView
                specId={spec.id}
                tasks={(artifacts?.tasks?.tasks ?? []).map((t) => t.id)}
                task={changesTask.value}
                onTask={(t) => (changesTask.value = t)}
              />
            ) : null}
          </Tabs>
        </section>
      </div>
    </div>
  )
}
