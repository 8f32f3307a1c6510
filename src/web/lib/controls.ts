import type { Spec, SpecStatus, User } from '../types.ts'

/** What a person can do to a spec from its room. `start` is POST /specs/:id/execute; the rest are `spec:command`s. */
export type Control = 'start' | 'approve' | 'revise' | 'pause' | 'resume' | 'cancel' | 'retry' | 'message'

const BY_STATUS: Record<SpecStatus, Control[]> = {
  draft: ['start'],
  executing: ['pause', 'cancel', 'message'],
  // No agent is at work while a phase awaits approval: a message could not be delivered (the server answers 409).
  awaiting_approval: ['approve', 'revise', 'cancel'],
  paused: ['resume', 'cancel'],
  failed: ['retry'],
  completed: [],
  cancelled: [],
}

/** The controls that apply to a spec in `status`, for a person who may steer it (none for one who may not). */
export function availableControls(status: SpecStatus, canEdit: boolean): Control[] {
  if (!canEdit) return []
  return BY_STATUS[status] ?? []
}

/** Whether `me` may steer `spec`: the server's per-caller `can_edit` when it sent one, else ownership. */
export function canEditSpec(spec: Pick<Spec, 'user_id' | 'can_edit'>, me: Pick<User, 'id'> | null): boolean {
  if (typeof spec.can_edit === 'boolean') return spec.can_edit
  return me !== null && spec.user_id === me.id
}

/** Final statuses: nothing more will happen unless someone retries. */
export function isFinal(status: SpecStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled'
}
