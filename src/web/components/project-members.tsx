import { useSignal } from '@preact/signals'
import { useEffect } from 'preact/hooks'
import { ApiError, api, errorMessage } from '../api.ts'
import type { MemberList } from '../types.ts'
import { controlProps, Field } from './field.tsx'

type Role = 'viewer' | 'editor'

/**
 * Who is on the project, with roles; the owner adds (by email, also before they have an account), changes and removes,
 * and withdraws open invitations.
 */
export function ProjectMembers(props: { projectId: string; canEdit: boolean }) {
  const { projectId, canEdit } = props
  const list = useSignal<MemberList | null>(null)
  const error = useSignal<string | null>(null)
  const email = useSignal('')
  const role = useSignal<Role>('viewer')
  const emailError = useSignal<string | null>(null)
  const status = useSignal<string | null>(null)
  const busy = useSignal(false)

  const load = () =>
    api.members(projectId).then(
      (m) => ((list.value = m), (error.value = null)),
      (err) => (error.value = errorMessage(err)),
    )
  useEffect(() => void load(), [projectId])

  const act = async (what: () => Promise<unknown>, done: string) => {
    busy.value = true
    error.value = null
    status.value = null
    try {
      await what()
      status.value = done
      await load()
      return true
    } catch (err) {
      // gone already (changed in another tab): show the list as it now is, then say why nothing was done
      if (err instanceof ApiError && err.status === 404) await load()
      error.value = errorMessage(err)
      return false
    } finally {
      busy.value = false
    }
  }

  const add = async (e: Event) => {
    e.preventDefault()
    const address = email.value.trim()
    if (!address) {
      emailError.value = 'Enter the email of the person to add.'
      return
    }
    busy.value = true
    try {
      await api.addMember(projectId, { email: address, role: role.value })
      status.value = `${address} added as ${role.value}. Someone without an account joins when they sign up with this email.`
      email.value = ''
      emailError.value = null
      await load()
    } catch (err) {
      if (err instanceof ApiError && err.fields.email) emailError.value = err.fields.email.join(' ')
      else error.value = errorMessage(err)
    } finally {
      busy.value = false
    }
  }

  const m = list.value
  return (
    <section class="panel" aria-labelledby="members-title" data-testid="project-members">
      <h2 id="members-title" class="panel__title">
        Members
      </h2>
      {m ? (
        <ul class="members" data-testid="members-list">
          {m.members.map((p) => (
            <li key={p.user_id} class="members__row" data-testid="member" data-user-id={p.user_id} data-role={p.role}>
              <span class="members__who">
                <strong>{p.name}</strong> <span class="muted small wrap-anywhere">{p.email}</span>
              </span>
              {canEdit && p.role !== 'owner' ? (
                <span class="members__actions">
                  <label class="visually-hidden" for={`role-${p.user_id}`}>
                    Role of {p.name}
                  </label>
                  <select
                    id={`role-${p.user_id}`}
                    data-testid="member-role"
                    value={p.role}
                    disabled={busy.value}
                    onChange={(e) => void act(() => api.setMemberRole(projectId, p.user_id, e.currentTarget.value as Role), `${p.name} is now ${e.currentTarget.value}.`)}
                  >
                    <option value="viewer">viewer</option>
                    <option value="editor">editor</option>
                  </select>
                  <button
                    type="button"
                    class="btn btn--small btn--danger-ghost"
                    data-testid="member-remove"
                    disabled={busy.value}
                    onClick={() => void act(() => api.removeMember(projectId, p.user_id), `${p.name} was removed; their open rooms closed.`)}
                  >
                    Remove<span class="visually-hidden"> {p.name}</span>
                  </button>
                </span>
              ) : (
                <span class="badge">{p.role}</span>
              )}
            </li>
          ))}
          {m.invitations.map((i) => (
            <li key={i.email} class="members__row" data-testid="invitation" data-email={i.email}>
              <span class="members__who wrap-anywhere">{i.email}</span>
              <span class="members__actions">
                <span class="badge">invited · {i.role}</span>
                {canEdit ? (
                  <button
                    type="button"
                    class="btn btn--small btn--danger-ghost"
                    data-testid="invitation-withdraw"
                    disabled={busy.value}
                    onClick={() => void act(() => api.withdrawInvitation(projectId, i.email), `The invitation for ${i.email} was withdrawn.`)}
                  >
                    Withdraw<span class="visually-hidden"> the invitation for {i.email}</span>
                  </button>
                ) : null}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {canEdit ? (
        <form class="stack" onSubmit={add} data-testid="member-form">
          <Field id="member-email" label="Add a person by email" error={emailError.value}>
            <input
              {...controlProps('member-email', emailError.value)}
              type="email"
              autoComplete="off"
              data-testid="member-email"
              value={email.value}
              onInput={(e) => {
                email.value = e.currentTarget.value
                emailError.value = null
              }}
            />
          </Field>
          <div class="controls__row">
            <label class="inline-field">
              <span>Role</span>
              <select data-testid="member-new-role" value={role.value} onChange={(e) => (role.value = e.currentTarget.value as Role)}>
                <option value="viewer">viewer (reads and watches)</option>
                <option value="editor">editor (steers specs)</option>
              </select>
            </label>
            <button type="submit" class="btn btn--primary" data-testid="member-add" disabled={busy.value}>
              Add
            </button>
          </div>
        </form>
      ) : null}
      {error.value ? (
        <p class="field__error" role="alert" data-testid="members-error">
          {error.value}
        </p>
      ) : null}
      {status.value && !error.value ? (
        <p class="ok-text" role="status" data-testid="members-status">
          {status.value}
        </p>
      ) : null}
    </section>
  )
}
