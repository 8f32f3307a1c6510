import { describe, expect, it } from 'vitest'
import { callbackFallbackUrl, isLoopbackHost } from '../../src/sandbox/callback-fallback.ts'

/** Which public URL a bubblewrap sandbox may fall back to when no sandbox socket answers: only one its network reaches. */

describe('the callback fallback of a bubblewrap sandbox', () => {
  it('is the public URL’s API base on the nat network, when its host is not loopback', () => {
    expect(callbackFallbackUrl('https://omoi.example.com', 'nat')).toBe('https://omoi.example.com/api/v1')
    expect(callbackFallbackUrl('http://10.0.0.5:8080', 'nat')).toBe('http://10.0.0.5:8080/api/v1')
    expect(callbackFallbackUrl('https://example.com/omoi/', 'nat')).toBe('https://example.com/omoi/api/v1')
    expect(callbackFallbackUrl('http://[2001:db8::5]:8080', 'nat')).toBe('http://[2001:db8::5]:8080/api/v1')
  })

  it('is none without a network, without a public URL, or with a public URL on loopback', () => {
    expect(callbackFallbackUrl('https://omoi.example.com', 'none')).toBeUndefined()
    expect(callbackFallbackUrl(undefined, 'nat')).toBeUndefined()
    for (const url of [
      'http://localhost:8080',
      'http://LOCALHOST.:8080',
      'http://omoi.localhost',
      'http://127.0.0.1:8080',
      'http://127.1.2.3',
      'http://127.1:8080',
      'http://2130706433',
      'http://[::1]:8080',
      'http://[0:0:0:0:0:0:0:1]',
      'http://[::ffff:127.0.0.1]',
      'http://0.0.0.0:8080',
      'http://[::]:8080',
    ]) {
      expect(callbackFallbackUrl(url, 'nat'), url).toBeUndefined()
    }
  })

  it('tells loopback hosts from others by name and address, without resolving names', () => {
    expect(isLoopbackHost('localhost')).toBe(true)
    expect(isLoopbackHost('[::1]')).toBe(true)
    expect(isLoopbackHost('128.0.0.1')).toBe(false)
    expect(isLoopbackHost('localhost.example.com')).toBe(false)
    expect(isLoopbackHost('[fe80::1]')).toBe(false)
  })
})
