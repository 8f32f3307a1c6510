import { describe, expect, it } from 'vitest'
import { ApiError, otherFieldMessages, toApiError } from '../../src/web/lib/api-error.ts'
import { normalizeAck } from '../../src/web/socket.ts'

describe('toApiError', () => {
  it('keeps the API’s code, message and field messages', () => {
    const err = toApiError(400, {
      error: { code: 'invalid_body', message: 'Some fields are invalid.', fields: { email: ['email must be a valid address'], 'items.0.id': ['must be a UUID'] } },
    })
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ status: 400, code: 'invalid_body', message: 'Some fields are invalid.' })
    expect(err.fieldMessage('email')).toBe('email must be a valid address')
    expect(err.fieldMessage('items')).toBe('must be a UUID')
    expect(err.fieldMessage('password')).toBeNull()
  })

  it('names the status when the body is not the contract’s error shape', () => {
    expect(toApiError(502, null)).toMatchObject({ code: 'http_502', message: expect.stringContaining('bad gateway') })
    expect(toApiError(418, '<html>')).toMatchObject({ code: 'http_418', message: 'The server answered 418.' })
  })

  it('accepts a single string per field', () => {
    expect(toApiError(400, { error: { code: 'invalid_body', message: 'x', fields: { name: 'name is required' } } }).fields).toEqual({
      name: ['name is required'],
    })
  })
})

describe('otherFieldMessages', () => {
  it('returns the field messages a form has no control for', () => {
    const err = toApiError(400, { error: { code: 'invalid_body', message: 'x', fields: { title: ['too long'], approval: ['bad'] } } })
    expect(otherFieldMessages(err, ['title'])).toEqual(['approval: bad'])
    expect(otherFieldMessages(new Error('x'), ['title'])).toEqual([])
  })
})

describe('normalizeAck', () => {
  it('passes a successful ack through', () => {
    expect(normalizeAck({ ok: true, status: 'paused' })).toEqual({ ok: true, status: 'paused' })
  })

  it('keeps the server’s error code and message', () => {
    expect(normalizeAck({ ok: false, error: { code: 'conflict', message: 'Not paused.' } })).toEqual({
      ok: false,
      error: { code: 'conflict', message: 'Not paused.' },
    })
  })

  it('gives a refusal without a message one to show', () => {
    const ack = normalizeAck({ ok: false })
    expect(ack.ok === false && ack.error.message).toBeTruthy()
  })

  it('wraps a bare answer (a list) as data', () => {
    expect(normalizeAck([1, 2])).toEqual({ ok: true, data: [1, 2] })
  })
})
