import { describe, expect, it } from 'vitest'
import { Backoff, TokenBucket } from '../../src/auth/rate-limit.ts'
import { newSessionToken } from '../../src/auth/sessions.ts'
import { originAllowed, parseCookie, readBearer, sessionCookie } from '../../src/auth/tokens.ts'

describe('TokenBucket', () => {
  it('lets `capacity` attempts through at once, then one per refill period, per key', () => {
    const bucket = new TokenBucket(3, 10_000)
    expect([0, 0, 0].map(() => bucket.take('a', 0))).toEqual([0, 0, 0])
    expect(bucket.take('a', 0)).toBe(10)
    expect(bucket.take('b', 0), 'another key has its own bucket').toBe(0)
    expect(bucket.take('a', 4_000)).toBe(6)
    expect(bucket.take('a', 10_000)).toBe(0)
    expect(bucket.take('a', 10_000)).toBe(10)
  })
})

describe('Backoff', () => {
  const options = { free: 5, baseMs: 1_000, maxMs: 60_000, forgetMs: 15 * 60_000 }

  it('lets 5 failures pass, then waits 1 s, 2 s, 4 s … up to 60 s', () => {
    const backoff = new Backoff(options)
    let now = 0
    for (let i = 0; i < 4; i++) {
      backoff.fail('k', now)
      expect(backoff.wait('k', now)).toBe(0)
    }
    const waits: number[] = []
    for (let i = 0; i < 9; i++) {
      backoff.fail('k', now)
      waits.push(backoff.wait('k', now))
      now += waits.at(-1)! * 1000
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60])
    expect(backoff.wait('other', now), 'only the failing key waits').toBe(0)
  })

  it('a success clears the key, and so does a quarter of an hour without failures', () => {
    const backoff = new Backoff(options)
    for (let i = 0; i < 6; i++) backoff.fail('k', 0)
    expect(backoff.wait('k', 0)).toBe(2)
    backoff.succeed('k')
    expect(backoff.wait('k', 0)).toBe(0)
    for (let i = 0; i < 8; i++) backoff.fail('j', 0)
    backoff.fail('j', 15 * 60_000 + 1)
    expect(backoff.wait('j', 15 * 60_000 + 1), 'the old failures are forgotten').toBe(0)
  })
})

describe('credentials on the wire', () => {
  it('reads a Bearer token whatever the case of the scheme', () => {
    expect(readBearer('Bearer abc')).toBe('abc')
    expect(readBearer('bearer abc')).toBe('abc')
    expect(readBearer('BEARER   abc ')).toBe('abc')
    expect(readBearer('Basic abc')).toBeNull()
    expect(readBearer('Bearer')).toBeNull()
    expect(readBearer('Bearer a b')).toBeNull()
    expect(readBearer(undefined)).toBeNull()
  })

  it('reads the session cookie and writes an HttpOnly, SameSite=Lax one', () => {
    expect(parseCookie('a=1; omoi_session=tok; b=2', 'omoi_session')).toBe('tok')
    expect(parseCookie('a=1', 'omoi_session')).toBeNull()
    const cookie = sessionCookie('omoi_session', 'tok', { maxAgeS: 60, secure: true })
    expect(cookie).toMatch(/^omoi_session=tok; Max-Age=60; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
  })

  it('allows an Origin only when its host and port are allowed', () => {
    const allowed = ['127.0.0.1:3000', 'https://omoi.example.com']
    expect(originAllowed('http://127.0.0.1:3000', allowed)).toBe(true)
    expect(originAllowed('https://omoi.example.com', allowed)).toBe(true)
    expect(originAllowed('http://127.0.0.1:3001', allowed)).toBe(false)
    expect(originAllowed('https://evil.example', allowed)).toBe(false)
    expect(originAllowed('null', allowed)).toBe(false)
  })

  it('makes session tokens of 32 base32 characters (100 random bits), never twice the same', () => {
    const tokens = new Set(Array.from({ length: 100 }, newSessionToken))
    expect(tokens.size).toBe(100)
    for (const t of tokens) expect(t).toMatch(/^[a-z2-7]{32}$/)
  })
})
