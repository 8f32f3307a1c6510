import type { Sql } from '../db/connect.ts'
import type { Histogram } from 'prom-client'

/**
 * The same postgres.js client, timing each awaited query and each `sql.begin` transaction into `histogram`
 * (label `kind`). postgres.js runs a query when it is first awaited (`then`), so the timer starts there; fragments
 * nested in other queries are never awaited and are left alone.
 */
export function instrumentSql(sql: Sql, histogram: Histogram<'kind'>): Sql {
  return new Proxy(sql, {
    apply(target, thisArg, args: unknown[]) {
      const result = Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args)
      const tagged = Array.isArray(args[0]) && 'raw' in (args[0] as object)
      if (tagged && result && typeof (result as PromiseLike<unknown>).then === 'function') timeThen(result as PromiseLike<unknown>, histogram, 'query')
      return result
    },
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (prop !== 'begin' || typeof value !== 'function') return value
      return (...args: unknown[]) => {
        const end = histogram.startTimer({ kind: 'transaction' })
        const run = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
        return run.finally(() => end())
      }
    },
  })
}

function timeThen(query: PromiseLike<unknown>, histogram: Histogram<'kind'>, kind: string): void {
  const then = query.then.bind(query)
  let timed = false
  Object.defineProperty(query, 'then', {
    configurable: true,
    writable: true,
    value: (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) => {
      if (timed) return then(onFulfilled, onRejected)
      timed = true
      const end = histogram.startTimer({ kind })
      return then(
        (v) => {
          end()
          return onFulfilled ? onFulfilled(v) : v
        },
        (e) => {
          end()
          if (onRejected) return onRejected(e)
          throw e
        },
      )
    },
  })
}
