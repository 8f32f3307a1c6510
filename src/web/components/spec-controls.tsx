import { useSignal } from '@preact/signals'
import { useEffect, useRef } from 'preact/hooks'
import { errorMessage } from '../api.ts'
import { connection } from '../socket.ts'
import { availableControls, type Control } from '../lib/controls.ts'
import { PHASE_LABELS } from '../lib/phases.ts'
import type { SpecRoom } from '../state/spec-room.ts'
import type { Ack, Spec, SpecPhase } from '../types.ts'
import { controlProps } from './field.tsx'

const DONE_TEXT: Partial<Record<Control, string>> = {
  start: 'Execution started.',
  approve: 'Approved.',
  revise: 'Changes requested; the phase runs again with your feedback.',
  pause: 'Paused.',
  resume: 'Resumed.',
  cancel: 'Cancelled.',
  retry: 'Retrying.',
  message: 'Message sent to the agent.',
}

/**
 * What the signed-in person can do to the spec now: only controls that apply to its status, and only for people who
 * may steer it. Every failure is shown here, with the server's message.
 */
export function SpecControls(props: { room: SpecRoom; spec: Spec; canEdit: boolean; approvalPhase: SpecPhase | null }) {
  const { room, spec, canEdit, approvalPhase } = props
  const pending = useSignal<Control | null>(null)
  const error = useSignal<string | null>(null)
  const done = useSignal<string | null>(null)
  const revising = useSignal(false)
  const feedback = useSignal('')
  const confirmCancel = useSignal(false)
  const message = useSignal('')
  const controls = availableControls(spec.status, canEdit)
  const confirmButton = useRef<HTMLButtonElement>(null)
  const confirming = confirmCancel.value
  useEffect(() => {
    if (confirming) confirmButton.current?.focus()
  }, [confirming])
  // A refusal belongs to the state it was made in: once the spec moves on or the connection comes back, it is stale.
  const online = connection.value.state === 'connected'
  useEffect(() => {
    error.value = null
  }, [spec.status, spec.current_phase, online])
  // The button just used (Approve, Pause…) disappears with the status it applied to; keep focus in the controls.
  const title = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    if (!document.activeElement || document.activeElement === document.body) title.current?.focus({ preventScroll: true })
  }, [spec.status])

  if (!canEdit) {
    return (
      <section class="panel controls" aria-labelledby="controls-title" data-testid="controls">
        <h2 id="controls-title" class="panel__title">
          Controls
        </h2>
        <p class="muted" data-testid="controls-readonly">
          You are watching. Only the spec's owner and the project's editors can steer it.
        </p>
      </section>
    )
  }

  const run = async (control: Control, action: () => Promise<Ack | void>): Promise<boolean> => {
    pending.value = control
    error.value = null
    done.value = null
    try {
      const ack = await action()
      if (ack && !ack.ok) {
        error.value = ack.error.message
        return false
      }
      done.value = DONE_TEXT[control] ?? 'Done.'
      return true
    } catch (err) {
      error.value = errorMessage(err)
      return false
    } finally {
      pending.value = null
    }
  }

  const has = (c: Control) => controls.includes(c)
  const busy = pending.value !== null
  const phase = approvalPhase ?? spec.current_phase
  const button = (control: Control, label: string, action: () => void, variant = '') => (
    <button
      type="button"
      class={`btn ${variant}`}
      data-testid={`control-${control}`}
      disabled={busy}
      aria-busy={pending.value === control}
      onClick={action}
    >
      {pending.value === control ? `${label}…` : label}
    </button>
  )

  const submitRevision = async (e: Event) => {
    e.preventDefault()
    if (!feedback.value.trim()) {
      error.value = 'Say what should change before requesting changes.'
      return
    }
    if (await run('revise', () => room.command('revise', { phase, feedback: feedback.value.trim() }))) {
      feedback.value = ''
      revising.value = false
    }
  }

  const sendMessage = async (e: Event) => {
    e.preventDefault()
    if (!message.value.trim()) {
      error.value = 'Write a message first.'
      return
    }
    if (await run('message', () => room.command('message', { text: message.value.trim() }))) message.value = ''
  }

  return (
    <section class="panel controls" aria-labelledby="controls-title" data-testid="controls" data-status={spec.status}>
      <h2 id="controls-title" class="panel__title" tabIndex={-1} ref={title}>
        Controls
      </h2>
      {spec.status === 'awaiting_approval' ? (
        <p class="callout" data-testid="approval-callout">
          <strong>{PHASE_LABELS[phase]}</strong> is ready for your review. Approve it to continue, or request changes.
        </p>
      ) : null}
      {controls.length === 0 ? <p class="muted">Nothing to do: this spec is {spec.status.replace('_', ' ')}.</p> : null}
      <div class="controls__row">
        {has('start') ? button('start', 'Start execution', () => void run('start', () => room.execute()), 'btn--primary') : null}
        {has('approve') ? button('approve', `Approve ${PHASE_LABELS[phase].toLowerCase()}`, () => void run('approve', () => room.command('approve', { phase })), 'btn--primary') : null}
        {has('revise') ? (
          <button
            type="button"
            class="btn"
            data-testid="control-revise"
            aria-expanded={revising.value}
            aria-controls="revise-form"
            disabled={busy}
            onClick={() => (revising.value = !revising.value)}
          >
            Request changes
          </button>
        ) : null}
        {has('pause') ? button('pause', 'Pause', () => void run('pause', () => room.command('pause'))) : null}
        {has('resume') ? button('resume', 'Resume', () => void run('resume', () => room.command('resume')), 'btn--primary') : null}
        {has('retry') ? button('retry', 'Retry', () => void run('retry', () => room.command('retry')), 'btn--primary') : null}
        {has('cancel') && !confirmCancel.value ? button('cancel', 'Cancel spec', () => (confirmCancel.value = true), 'btn--danger-ghost') : null}
      </div>
      {has('cancel') && confirmCancel.value ? (
        <div class="confirm" role="alertdialog" aria-labelledby="cancel-q" data-testid="cancel-confirm">
          <p id="cancel-q">Cancel this spec? Running agents are stopped and it cannot be resumed.</p>
          <div class="controls__row">
            <button
              type="button"
              class="btn btn--danger"
              data-testid="control-cancel-confirm"
              disabled={busy}
              ref={confirmButton}
              onClick={async () => {
                await run('cancel', () => room.command('cancel'))
                confirmCancel.value = false
              }}
            >
              {pending.value === 'cancel' ? 'Cancelling…' : 'Yes, cancel it'}
            </button>
            <button type="button" class="btn" data-testid="control-cancel-dismiss" disabled={busy} onClick={() => (confirmCancel.value = false)}>
              Keep running
            </button>
          </div>
        </div>
      ) : null}
      {has('revise') && revising.value ? (
        <form id="revise-form" class="stack" onSubmit={submitRevision} data-testid="revise-form">
          <label class="field__label" for="revise-feedback">
            What should change in the {PHASE_LABELS[phase].toLowerCase()}?
          </label>
          <textarea
            {...controlProps('revise-feedback')}
            rows={4}
            data-testid="control-revise-feedback"
            value={feedback.value}
            onInput={(e) => (feedback.value = e.currentTarget.value)}
          />
          <div class="controls__row">
            <button type="submit" class="btn btn--primary" data-testid="control-revise-submit" disabled={busy}>
              {pending.value === 'revise' ? 'Sending…' : 'Send feedback'}
            </button>
            <button type="button" class="btn btn--ghost" onClick={() => (revising.value = false)}>
              Never mind
            </button>
          </div>
        </form>
      ) : null}
      {has('message') ? (
        <form class="message-form" onSubmit={sendMessage} data-testid="message-form">
          <label class="field__label" for="agent-message">
            Message the agent
          </label>
          <div class="message-form__row">
            <input
              {...controlProps('agent-message')}
              type="text"
              autoComplete="off"
              placeholder="e.g. Prefer the existing HTTP client in src/http"
              data-testid="control-message-input"
              value={message.value}
              onInput={(e) => (message.value = e.currentTarget.value)}
            />
            <button type="submit" class="btn" data-testid="control-message" disabled={busy}>
              {pending.value === 'message' ? 'Sending…' : 'Send'}
            </button>
          </div>
        </form>
      ) : null}
      {error.value ? (
        <p class="field__error" role="alert" data-testid="control-error">
          {error.value}
        </p>
      ) : null}
      {done.value && !error.value ? (
        <p class="ok-text" role="status" data-testid="control-status">
          {done.value}
        </p>
      ) : null}
    </section>
  )
}
