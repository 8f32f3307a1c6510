import { describe, expect, it } from 'vitest'
import { cleanJson, cleanText } from '../../src/db/text-boundary.ts'
import { MAX_INPUT_DEPTH, tooDeep } from '../../src/schemas/parse.ts'
import { head, tail } from '../../src/schemas/text.ts'

const nested = (depth: number) => {
  let value: unknown = 'leaf'
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}

describe('the text boundary', () => {
  it('turns NUL into ␀ and lone surrogates into U+FFFD in text, keeping whole emoji', () => {
    expect(cleanText('a\u0000b')).toBe('a␀b')
    expect(cleanText('x\ud83d')).toBe('x\ufffd')
    expect(cleanText('\ude00y')).toBe('\ufffdy')
    expect(cleanText('ok 😀')).toBe('ok 😀')
  })

  it('rewrites only the escapes jsonb refuses in JSON text', () => {
    const json = JSON.stringify({ 'k\u0000': 'v\u0000 \ud83d 😀 \\u0000' })
    expect(JSON.parse(cleanJson(json))).toEqual({ 'k␀': 'v␀ \ufffd 😀 \\u0000' })
  })
})

describe('cutting text on code points', () => {
  it('never splits a surrogate pair at the head or the tail', () => {
    const text = 'ab😀cd' // 😀 is units 2 and 3
    expect(head(text, 3)).toBe('ab')
    expect(head(text, 4)).toBe('ab😀')
    expect(tail(text, 3)).toBe('cd')
    expect(tail(text, 4)).toBe('😀cd')
    expect(head('short', 10)).toBe('short')
    expect(tail('short', 0)).toBe('')
  })

  it('leaves no lone surrogate whatever the cut', () => {
    const text = '😀'.repeat(50)
    for (let n = 0; n <= text.length; n++) {
      expect(cleanText(head(text, n))).toBe(head(text, n))
      expect(cleanText(tail(text, n))).toBe(tail(text, n))
    }
  })
})

describe('input depth', () => {
  it('names the field that holds input nested too deep, also at 10,000 levels', () => {
    expect(tooDeep({ events: [{ data: nested(10) }] }, MAX_INPUT_DEPTH)).toBeNull()
    expect(tooDeep({ events: [{ id: 'x', data: nested(10_000) }] }, MAX_INPUT_DEPTH)).toBe('events.0.data')
    expect(tooDeep({ title: JSON.parse('['.repeat(100) + ']'.repeat(100)) }, MAX_INPUT_DEPTH)).toBe('title')
  })
})
