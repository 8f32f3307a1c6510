import * as v from 'valibot'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.ts'
import { graphemeCount, redactUrl, urlHasCredentials } from '../../src/schemas/fields.ts'
import { parseInput } from '../../src/schemas/parse.ts'

const fieldsOf = (schema: v.GenericSchema, input: unknown) => {
  try {
    parseInput(schema, input)
  } catch (err) {
    if (err instanceof AppError) return err.fields
    throw err
  }
  throw new Error('accepted')
}

describe('parseInput words a check that has no message of its own', () => {
  it.each([
    [v.object({ a: v.pipe(v.string(), v.maxLength(3)) }), { a: 'abcdef' }, 'a must be at most 3 characters'],
    [v.object({ a: v.pipe(v.array(v.number()), v.maxLength(1)) }), { a: [1, 2] }, 'a must be at most 1 items'],
    [v.object({ a: v.number() }), { a: 'x' }, 'a must be a number'],
    [v.object({ a: v.object({ b: v.boolean() }) }), { a: { b: 1 } }, 'a.b must be true or false'],
    [v.object({ a: v.pipe(v.string(), v.regex(/^x$/)) }), { a: 'secret value' }, 'a has the wrong format'],
  ])('%#', (schema, input, message) => {
    expect(Object.values(fieldsOf(schema, input) ?? {}).flat()).toEqual([message])
  })
})

describe('field helpers', () => {
  it('counts user-perceived characters', () => {
    expect(graphemeCount('👨‍👩‍👧‍👦e\u0301')).toBe(2)
  })

  it('finds and redacts credentials in git URLs', () => {
    expect(urlHasCredentials('https://u:p@h/x.git')).toBe(true)
    expect(urlHasCredentials('https://token@h/x.git')).toBe(true)
    expect(urlHasCredentials('ssh://git@h/x.git')).toBe(false)
    expect(urlHasCredentials('git@h:x.git')).toBe(false)
    expect(urlHasCredentials('/srv/repo')).toBe(false)
    expect(redactUrl('https://u:p@h/x.git')).toBe('https://***@h/x.git')
    expect(redactUrl('ssh://git:p@h/x.git')).toBe('ssh://git:***@h/x.git')
    expect(redactUrl('https://h/x.git')).toBe('https://h/x.git')
  })
})
