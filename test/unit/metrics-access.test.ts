import { describe, expect, it } from 'vitest'
import { metricsRefusal } from '../../src/http/routes/metrics.ts'

describe('who may read /metrics', () => {
  it.each([
    ['127.0.0.1', undefined, undefined, null],
    ['::1', undefined, undefined, null],
    ['::ffff:127.0.0.1', undefined, 't0ken', null],
    ['10.0.0.5', 'Bearer t0ken', 't0ken', null],
    ['10.0.0.5', 'bearer t0ken', 't0ken', null],
    ['10.0.0.5', undefined, undefined, 'forbidden'],
    ['10.0.0.5', undefined, 't0ken', 'unauthenticated'],
    ['10.0.0.5', 'Bearer nope!', 't0ken', 'unauthenticated'],
    ['127.0.0.1', 'Bearer nope!', 't0ken', 'unauthenticated'],
    ['10.0.0.5', 'Bearer anything', undefined, 'unauthenticated'],
  ])('%s with %s (token %s) → %s', (address, authorization, token, code) => {
    expect(metricsRefusal(address, authorization, token)?.code ?? null).toBe(code)
  })
})
