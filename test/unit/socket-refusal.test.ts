import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import { toRefusal } from '../../src/sockets/ack.ts'

describe('socket refusals', () => {
  it('a database outage is unavailable (retry), as over REST, not internal', () => {
    const outage = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })
    expect(toRefusal(outage, 'spec:command')).toEqual({
      ok: false,
      error: { code: 'unavailable', message: 'The database is unavailable for a moment; retry shortly.' },
    })
  })

  it('keeps an AppError as it is and hides anything else behind internal', () => {
    expect(toRefusal(new AppError('conflict', 'Not now.'), 'spec:command')).toEqual({ ok: false, error: { code: 'conflict', message: 'Not now.' } })
    expect(toRefusal(new TypeError('x is undefined'), 'spec:command').error.code).toBe('internal')
  })
})
