import { hash, randomBytes, randomUUID } from 'node:crypto'

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz'

/** A time-sortable 26-character id (ULID layout, lower-case Crockford base32). */
export function ulid(now = Date.now()): string {
  let time = ''
  let t = now
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time
    t = Math.floor(t / 32)
  }
  const bytes = randomBytes(16)
  let rand = ''
  for (let i = 0; i < 16; i++) rand += CROCKFORD[bytes[i]! % 32]
  return time + rand
}

/** `spec_…`, `prj_…`, `sbx_…`: a prefix and a ULID. */
export function newId(prefix: string): string {
  return `${prefix}_${ulid()}`
}

export const newUuid = randomUUID

/** A random secret for bearer tokens (sandbox tokens). */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/** Secrets are stored (and compared) as SHA-256: a leaked table does not let anyone use them. */
export const hashToken = (token: string): string => hash('sha256', token, 'hex')
