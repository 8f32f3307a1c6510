import { describe, expect, it } from 'vitest'
import { clean, parseEars } from '../../src/actors/ears.ts'

describe('parseEars accepts the well-formed variants people write', () => {
  it.each([
    // [sentence, patterns, trigger, subject, response]
    ['THE SYSTEM SHALL store due dates.', ['ubiquitous'], null, 'THE SYSTEM', 'store due dates'],
    ['the api shall answer in JSON', ['ubiquitous'], null, 'the api', 'answer in JSON'],
    ['SCE SHALL provide a command line', ['ubiquitous'], null, 'SCE', 'provide a command line'],
    ['WHEN a token has expired THEN system SHALL answer 401', ['event'], 'a token has expired', 'system', 'answer 401'],
    ['WHEN the password is wrong THEN it SHALL be rejected', ['event'], 'the password is wrong', 'it', 'be rejected'],
    ['WHEN the user opens a spec, Kiro SHALL show its requirements', ['event'], 'the user opens a spec', 'Kiro', 'show its requirements'],
    ['IF the token is missing, THE API SHALL answer 401', ['unwanted'], 'the token is missing', 'THE API', 'answer 401'],
    ['IF the due date is in the past THEN THE API SHALL answer 400.', ['unwanted'], 'the due date is in the past', 'THE API', 'answer 400'],
    ['WHEN the user runs greet THE SYSTEM SHALL print a greeting', ['event'], 'the user runs greet', 'THE SYSTEM', 'print a greeting'],
    ['IF the token expired the API SHALL answer 401', ['unwanted'], 'the token expired', 'the API', 'answer 401'],
    ['The system SHALL, when offline, queue writes', ['ubiquitous'], null, 'The system', 'when offline, queue writes'],
    ['When a user saves a todo, the todo service shall store it.', ['event'], 'a user saves a todo', 'the todo service', 'store it'],
    ['1. WHEN the user logs in THEN the system SHALL create a session', ['event'], 'the user logs in', 'the system', 'create a session'],
    ['**WHEN** the user logs in **THEN** the system **SHALL** create a session', ['event'], 'the user logs in', 'the system', 'create a session'],
    ['✅ WHEN the user logs in THEN the system SHALL create a session', ['event'], 'the user logs in', 'the system', 'create a session'],
    ['- **FR-001**: THE system SHALL let users create notes', ['ubiquitous'], null, 'THE system', 'let users create notes'],
    ['Event-driven: WHEN a user saves THEN the system SHALL store it', ['event'], 'a user saves', 'the system', 'store it'],
    ['2. **Unwanted behaviour** — IF the disk is full THEN the API SHALL answer 507', ['unwanted'], 'the disk is full', 'the API', 'answer 507'],
    ['Ubiquitous requirement: The system SHALL log every login', ['ubiquitous'], null, 'The system', 'log every login'],
    ['Complex-number parsing SHALL round half to even', ['ubiquitous'], null, 'Complex-number parsing', 'round half to even'],
    ['WHEN 用户提交表单 THEN 系统 SHALL 保存数据', ['event'], '用户提交表单', '系统', '保存数据'],
    ['WHEN用户提交表单THEN系统SHALL保存数据', ['event'], '用户提交表单', '系统', '保存数据'],
    ['WHEN ユーザーがログインする システム SHALL トークンを発行する', ['event'], 'ユーザーがログインする', 'システム', 'トークンを発行する'],
    ['WHEN ユーザーが保存を押す、システム SHALL 下書きを保存する', ['event'], 'ユーザーが保存を押す', 'システム', '下書きを保存する'],
  ])('%j', (sentence, patterns, trigger, subject, response) => {
    expect(parseEars(sentence)).toEqual({ ok: true, patterns, preconditions: [], trigger, subject, response })
  })

  it('returns the parts of combined patterns: state and optional preconditions, then the trigger', () => {
    expect(parseEars('WHILE the job runs, WHEN a tick arrives, THE job SHALL renew its lease')).toEqual({
      ok: true,
      patterns: ['state', 'event'],
      preconditions: ['the job runs'],
      trigger: 'a tick arrives',
      subject: 'THE job',
      response: 'renew its lease',
    })
    expect(parseEars('WHERE email is configured and WHEN a todo is due, THE reminder job SHALL send an email.')).toMatchObject({
      patterns: ['optional', 'event'],
      preconditions: ['email is configured'],
      trigger: 'a todo is due',
    })
    expect(parseEars('WHILE in maintenance mode the API SHALL answer 503')).toMatchObject({
      patterns: ['state'],
      preconditions: ['in maintenance mode'],
      subject: 'the API',
    })
    expect(parseEars('WHILE offline, IF a save fails THEN the app SHALL queue the change')).toMatchObject({
      patterns: ['state', 'unwanted'],
      preconditions: ['offline'],
      trigger: 'a save fails',
      subject: 'the app',
    })
  })
})

describe('parseEars rejects sentences that are not EARS, naming what is missing', () => {
  it.each([
    ['THE the SHALL x', 'no subject before SHALL: name who or what acts'],
    ['WHEN the user clicks the button SHALL turn blue', 'no subject before SHALL: WHEN needs THEN or a comma before the subject'],
    ['IF the token expired the request SHALL fail', 'no subject before SHALL: IF needs THEN or a comma before the subject'],
    ['WHEN a user saves a todo, SHALL store it.', 'no subject before SHALL: after the WHEN clause, name who or what acts'],
    ['WHEN a user saves a todo THEN SHALL store it.', 'no subject before SHALL: after the WHEN clause, name who or what acts'],
    ['SHALL store due dates.', 'no subject before SHALL'],
    ['THE system SHOULD store due dates.', 'no SHALL: EARS states the response with SHALL, not SHOULD'],
    ['System MUST allow users to create notes', 'no SHALL: EARS states the response with SHALL, not MUST'],
    ['Notes are saved.', 'no SHALL: state the response as "<subject> SHALL <response>"'],
    ['WHEN , THE system SHALL save', 'WHEN has no condition'],
    ['THE system SHALL.', 'nothing after SHALL'],
  ])('%j', (sentence, missing) => {
    const parsed = parseEars(sentence)
    expect(parsed.ok).toBe(false)
    expect(!parsed.ok && parsed.missing).toContain(missing)
  })
})

describe('clean', () => {
  it('strips list numbers, labels, bullets, checkboxes, emphasis and emoji but keeps identifiers', () => {
    expect(clean('2.3) **WHEN** the `due_at` is _empty_ THEN it SHALL answer 400')).toBe('WHEN the `due_at` is empty THEN it SHALL answer 400')
    expect(clean('- [ ] 🚀 AC-2: THE CLI SHALL exit with code 1')).toBe('THE CLI SHALL exit with code 1')
    expect(clean('WHEN a user saves，THE system SHALL store it')).toBe('WHEN a user saves,THE system SHALL store it')
  })
})
