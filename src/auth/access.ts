import { AppError } from '../errors.ts'
import type { SpecAccess } from '../db/specs.ts'

/** Owners and editors steer a spec (launch, approve, pause, message…); viewers read and watch. */
export function canSteer(access: SpecAccess): boolean {
  return access === 'owner' || access === 'editor'
}

/** Throws 403 for a viewer trying to steer. (Someone with no access at all never gets this far: they get 404.) */
export function assertCanSteer(access: SpecAccess): void {
  if (!canSteer(access)) throw new AppError('forbidden', 'You can watch this spec but not change it: ask its owner to make you an editor.')
}
