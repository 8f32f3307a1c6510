import type { MiddlewareHandler } from 'hono'
import { compress } from 'hono/compress'
import { secureHeaders } from 'hono/secure-headers'

/**
 * How the app is delivered to browsers: compressed, with security headers and a Content-Security-Policy the web app
 * passes (no inline script or style; the socket is same-origin), and long-lived caching only for content-hashed assets.
 */

/**
 * gzip/deflate for what browsers fetch. Not for sandbox callbacks: the model proxy streams its answers there, and a
 * compressor would hold back the stream's chunks.
 */
export function compression(): MiddlewareHandler {
  const gzip = compress()
  return async function compression(c, next) {
    if (c.req.path.startsWith('/api/v1/sandboxes/')) return next()
    return gzip(c, next)
  }
}

/** Hono's secureHeaders with the policy the web app is built for (checked in every browser test). */
export function securityHeaders(): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    crossOriginEmbedderPolicy: false,
  })
}

/** Assets named by their content hash (`?v=<hash>`, written by scripts/build-web.ts) never change: cache them for a year. */
export function assetCaching(): MiddlewareHandler {
  return async function assetCaching(c, next) {
    await next()
    if (c.res.status !== 200) return
    if (c.req.query('v')) c.header('cache-control', 'public, max-age=31536000, immutable')
    else if (!c.req.path.startsWith('/api/')) c.header('cache-control', 'no-cache')
  }
}
