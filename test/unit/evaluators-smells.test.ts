import { describe, expect, it } from 'vitest'
import { evaluatePhase } from '../../src/actors/evaluators.ts'
import { hasMeasure, isObservable, isTooShort, smellsIn } from '../../src/actors/smells.ts'
import { graphemes, readingLength, wordCount } from '../../src/actors/text-length.ts'
import { goodRequirements } from '../support/fixtures.ts'

const evaluate = (o: unknown) => evaluatePhase('requirements', o, {})

describe('lengths for every script', () => {
  it('counts graphemes, not UTF-16 units', () => {
    expect(graphemes('👩‍👩‍👧 family')).toHaveLength(8)
    expect(graphemes('é'.normalize('NFD'))).toHaveLength(1)
    expect(readingLength('👩‍👩‍👧 family')).toBe(8)
  })

  it('counts CJK characters as words and as three letters each', () => {
    expect(wordCount('命令接口')).toBe(4)
    expect(wordCount('Add the due_at column')).toBe(4)
    expect(wordCount('导出 CSV 文件')).toBe(5)
    expect(readingLength('为每个待办事项保存截止日期并校验其格式')).toBe(57)
  })
})

describe('smells', () => {
  it.each([
    ['THE SYSTEM SHALL be fast and user-friendly', [{ kind: 'vague', phrase: 'fast' }, { kind: 'vague', phrase: 'user-friendly' }]],
    ['THE search SHALL return the best results', [{ kind: 'superlative', phrase: 'best' }]],
    ['THE new parser SHALL be faster', [{ kind: 'comparative', phrase: 'faster' }]],
    ['THE export SHALL include attachments if possible', [{ kind: 'loophole', phrase: 'if possible' }]],
    ['THE export SHALL support CSV, JSON, etc.', [{ kind: 'open_ended', phrase: 'etc.' }]],
    ['系统 SHALL 尽可能快速响应', [{ kind: 'vague', phrase: '快速' }, { kind: 'loophole', phrase: '尽可能' }]],
  ])('finds the phrase in %j', (text, smells) => {
    expect(smellsIn(text)).toEqual(smells)
  })

  it.each([
    'THE API SHALL answer within 200 ms',
    'THE new parser SHALL be faster than the old one on the 10 MB fixture',
    'THE export SHALL include the title as well as the body',
  ])('finds none in %j', (text) => {
    expect(smellsIn(text)).toEqual([])
  })

  it('calls a criterion measurable when it has a number and unit, a status code or a named output', () => {
    expect(hasMeasure('the page loads in under 2 s')).toBe(true)
    expect(hasMeasure('the request answers 404')).toBe(true)
    expect(hasMeasure('the toast says "Saved"')).toBe(true)
    expect(hasMeasure('the response has a `next_cursor` field')).toBe(true)
    expect(hasMeasure("the user's notes aren't shown to others")).toBe(false)
    expect(hasMeasure("the button reads 'Save'")).toBe(true)
    expect(hasMeasure('it works well')).toBe(false)
    expect(hasMeasure('THE SYSTEM SHALL be fast')).toBe(false)
  })

  it('tells observable criteria from ones that say nothing a tester can see', () => {
    expect(isObservable('the note is listed under its tag')).toBe(true)
    expect(isObservable('it works well')).toBe(false)
    expect(isObservable('good performance')).toBe(false)
    expect(isTooShort('x')).toBe(true)
    expect(isTooShort('works')).toBe(true)
    expect(isTooShort('保存')).toBe(true)
    expect(isTooShort('保存成功后显示提示')).toBe(false)
  })
})

describe('requirements hard rules and smells', () => {
  const one = (r: object) => ({ requirements: [{ ...goodRequirements.requirements[0]!, ...r }] })

  it('rejects a vague requirement none of whose criteria is measurable, naming it and the phrase', () => {
    const verdict = evaluate(one({ ears: 'THE SYSTEM SHALL be fast', acceptance_criteria: ['it works well', 'users are happy with it'] }))
    expect(verdict.accepted).toBe(false)
    expect(verdict.hard_failures).toEqual([
      'REQ-001 is vague ("fast") and no criterion measures it: add a criterion with a number and unit, a status code or a named output.',
    ])
    expect(verdict.feedback).toContain('- criteria with no observable outcome (REQ-001.1 "it works well", REQ-001.2 "users are happy with it")')
  })

  it('accepts a vague word that a criterion measures, listing the smell as a soft check', () => {
    const verdict = evaluate(
      one({ ears: 'WHEN a user searches, THE API SHALL answer fast.', acceptance_criteria: ['the answer arrives within 300 ms', 'the answer lists at most 20 todos'] }),
    )
    expect(verdict).toMatchObject({ accepted: true, hard_failures: [] })
    expect(verdict.feedback).toContain('- requirement smells: REQ-001: "fast" is vague without a measure.')
  })

  it('rejects criteria of a single word or letter, naming each', () => {
    const verdict = evaluate(one({ acceptance_criteria: ['x', 'works', 'GET /todos/:id returns the stored due_at'] }))
    expect(verdict.hard_failures).toEqual([
      'REQ-001.1 "x" is too short to observe anything: say what a tester sees happen.',
      'REQ-001.2 "works" is too short to observe anything: say what a tester sees happen.',
    ])
  })

  it('names loopholes and open-ended lists in criteria by criterion id', () => {
    const requirements = structuredClone(goodRequirements)
    requirements.requirements[1]!.acceptance_criteria.push('dates in other formats are rejected too if possible, e.g. RFC 2822, etc.')
    const verdict = evaluate(requirements)
    expect(verdict.feedback).toContain('- requirement smells: REQ-002: REQ-002.3 "if possible" is a loophole, REQ-002.3 "etc." leaves the list open.')
  })

  it('names near-duplicate requirements as a soft check', () => {
    const requirements = structuredClone(goodRequirements)
    requirements.requirements[2]!.ears = 'IF a due date lies in the past, THEN THE todo service SHALL reject the whole request with a 400.'
    const verdict = evaluate(requirements)
    expect(verdict.accepted).toBe(true)
    expect(verdict.feedback).toContain('- near-duplicate requirements (REQ-002 ≈ REQ-003)')
  })

  it('judges CJK titles by characters: "命令接口" is not vague', () => {
    const verdict = evaluate(one({ title: '命令接口' }))
    expect(verdict).toMatchObject({ accepted: true, score: 1 })
  })
})
