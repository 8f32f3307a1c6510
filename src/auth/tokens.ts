import { parse, serialize } from 'hono/utils/cookie'

/** Reading and writing credentials on the wire: no I/O, shared by HTTP and sockets. */

/** The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1). */
export function readBearer(header: string | undefined): string | null {
  const match = header ? /^bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header) : null
  return match?.[1] ?? null
}

/** The value of cookie `name` in a Cookie header, or null. */
export function parseCookie(header: string | undefined, name: string): string | null {
  if (!header) return null
  return parse(header, name)[name] || null
}

/** The session cookie: HttpOnly, SameSite=Lax, the whole site; an empty value with max age 0 removes it. */
export function sessionCookie(name: string, value: string, options: { maxAgeS: number; secure: boolean }): string {
  return serialize(name, value, { path: '/', httpOnly: true, sameSite: 'Lax', secure: options.secure, maxAge: Math.floor(options.maxAgeS) })
}

/**
 * Does a request's Origin name one of the allowed hosts? `allowed` holds hosts (`127.0.0.1:3000`, the request's own
 * Host header) or URLs (`https://omoi.example.com`); the comparison is on host and port.
 */
export function originAllowed(origin: string, allowed: string[]): boolean {
  let host: string
  try {
    host = new URL(origin).host
  } catch {
    return false
  }
  return allowed.some((entry) => {
    try {
      return (entry.includes('://') ? new URL(entry).host : entry) === host
    } catch {
      return false
    }
  })
}
