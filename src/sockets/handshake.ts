import type { ExtendedError, Socket } from 'socket.io'
import type { AuthService } from '../auth/service.ts'
import { originAllowed as allowedOrigin } from '../auth/tokens.ts'
import { logger } from '../log.ts'
import { refuseHandshake } from './ack.ts'
import type { SocketData } from './types.ts'

const log = logger('omoi:sockets')

export interface HandshakeOptions {
  /** Origins besides the request's own host that may use the session cookie (OMOI_PUBLIC_URL). */
  allowedOrigins: string[]
  /** Refuse (as `forbidden`) users without this role. */
  role?: 'admin'
}

/**
 * Namespace middleware: who is connecting, by `auth: {token}` or the session cookie, checked on every handshake (so on
 * every reconnect). A cookie from a foreign Origin is ignored, as for HTTP writes: it would let another site's page act
 * with our user's session (cross-site WebSocket hijacking).
 */
export function authenticate(auth: AuthService, options: HandshakeOptions) {
  return async function authenticate(socket: Socket<any, any, any, SocketData>, next: (err?: ExtendedError) => void): Promise<void> {
    try {
      const { headers, auth: handshakeAuth } = socket.handshake
      const token: unknown = handshakeAuth?.token
      const identity = await auth.identify({
        cookie: headers.cookie,
        authorization: typeof token === 'string' && token ? `Bearer ${token}` : undefined,
      })
      if (!identity || (identity.via === 'cookie' && !originAllowed(headers.origin, headers.host, options.allowedOrigins))) {
        return next(refuseHandshake('unauthenticated'))
      }
      if (options.role && identity.user.role !== options.role) return next(refuseHandshake('forbidden'))
      socket.data.user = identity.user
      socket.data.session = identity.sessionId
      socket.data.unlisted = []
      next()
    } catch (err) {
      log.error('handshake failed', { err })
      next(refuseHandshake('internal'))
    }
  }
}

/** Browsers always send Origin on a WebSocket; a same-origin polling GET may omit it, which SameSite=Lax already covers. */
function originAllowed(origin: string | undefined, host: string | undefined, allowed: string[]): boolean {
  if (!origin) return true
  return allowedOrigin(origin, [...(host ? [host] : []), ...allowed])
}
