import { describe, expect, it } from 'vitest'
import { ACCEPT_SCORE, evaluatePhase } from '../../src/actors/evaluators.ts'
import { goodDesign, goodExploration, goodRequirements, goodTasks } from '../support/fixtures.ts'

const prior = { requirements: goodRequirements }

describe('every evaluator', () => {
  const cases = [
    ['explore', (o: unknown) => evaluatePhase('explore', o, {}), goodExploration],
    ['requirements', (o: unknown) => evaluatePhase('requirements', o, {}), goodRequirements],
    ['design', (o: unknown) => evaluatePhase('design', o, {}), goodDesign],
    ['tasks', (o: unknown) => evaluatePhase('tasks', o, prior), goodTasks],
  ] as const

  it.each(cases)('%s accepts its good fixture with a full score', (_, evaluate, good) => {
    expect(evaluate(good)).toEqual({ accepted: true, score: 1, feedback: 'Accepted (score 1.00).', hard_failures: [] })
  })

  it.each(cases)('%s rejects null, a string and an array as not an object', (_, evaluate) => {
    expect(evaluate(null).hard_failures).toContain('submission: must be an object (got null)')
    expect(evaluate('done').hard_failures).toContain('submission: must be an object (got "done")')
    expect(evaluate([]).accepted).toBe(false)
  })

  it.each(cases)('%s rejects {} naming missing fields, with the score 0 a hard failure means', (_, evaluate) => {
    const verdict = evaluate({})
    expect(verdict.accepted).toBe(false)
    expect(verdict.score).toBe(0)
    expect(verdict.feedback).toMatch(/^Rejected \(score 0\.00\): \d+ hard rules failed; the weighted checks alone score 0\.\d\d\.\nHard rules:\n- /)
    expect(verdict.hard_failures.some((f) => /: must be an? \w+ \(it is missing\)$/.test(f))).toBe(true)
  })

  it('accepts a score of exactly 0.7 and rejects one just below', () => {
    const atThreshold = evaluatePhase('explore', { ...goodExploration, summary: 'Todo app.', scope_in: [] }, {})
    expect(atThreshold).toMatchObject({ accepted: true, score: ACCEPT_SCORE })
    expect(atThreshold.feedback.split('\n')).toEqual([
      'Accepted (score 0.70).',
      'Soft checks that failed:',
      '- summary is 9 characters: describe the codebase and the change in at least 40.',
      '- scope_in is empty: say what the change includes.',
    ])
    const below = evaluatePhase('explore', { ...goodExploration, summary: 'Todo app.', tech_stack: [] }, {})
    expect(below).toMatchObject({ accepted: false, score: 0.65 })
  })
})

describe('explore', () => {
  const evaluate = (o: unknown) => evaluatePhase('explore', o, {})

  it('lists every failed check with what to fix', () => {
    const verdict = evaluate({ ...goodExploration, summary: 'A todo app.', key_files: [], conventions: [] })
    expect(verdict).toEqual({
      accepted: false,
      score: 0.45,
      hard_failures: [],
      feedback: [
        'Rejected (score 0.45; 0.70 needed).',
        '- summary is 11 characters: describe the codebase and the change in at least 40.',
        '- key_files is empty: list the files that matter here, each with its purpose.',
        '- conventions is empty: note the code, naming and test conventions to follow.',
      ].join('\n'),
    })
  })

  it('accepts a submission that misses a few checks but scores 0.7 or more', () => {
    expect(evaluate({ ...goodExploration, tech_stack: [], scope_out: [] })).toMatchObject({ accepted: true, score: 0.75 })
  })

  it('rejects wrong types as hard failures, scoring 0 and saying what the checks alone score', () => {
    const verdict = evaluate({ ...goodExploration, tech_stack: 'TypeScript', open_questions: undefined })
    expect(verdict.accepted).toBe(false)
    expect(verdict.score).toBe(0)
    expect(verdict.feedback.split('\n')[0]).toBe('Rejected (score 0.00): 2 hard rules failed; the weighted checks alone score 0.75.')
    expect(verdict.hard_failures).toEqual([
      'tech_stack: must be an array (got "TypeScript")',
      'open_questions: must be an array (it is missing)',
    ])
    expect(verdict.feedback).toContain('- tech_stack: must be an array (got "TypeScript")')
  })

  it('names the path of an invalid item', () => {
    const verdict = evaluate({ ...goodExploration, key_files: [{ path: 'src/a.ts', purpose: '  ' }, { path: 3 }] })
    expect(verdict.hard_failures).toEqual([
      'key_files.0.purpose: must not be empty',
      'key_files.1.path: must be a string (got 3)',
      'key_files.1.purpose: must be a string (it is missing)',
    ])
  })
})

describe('requirements', () => {
  const evaluate = (o: unknown) => evaluatePhase('requirements', o, {})
  const withEars = (ears: string) => ({
    requirements: [{ ...goodRequirements.requirements[0]!, ears }, ...goodRequirements.requirements.slice(1)],
  })

  it.each([
    'THE todo service SHALL store due dates.',
    'the api shall answer in JSON',
    'WHEN a user saves a todo THE todo service SHALL store it.',
    'When a user saves a todo, the todo service shall store it.',
    'WHILE the job runs, THE reminder job SHALL hold a lock.',
    'IF the due date is in the past, THEN THE API SHALL answer 400.',
    'if the token is missing then the API shall answer 401',
    'WHERE email is configured, THE reminder job SHALL send an email.',
    'IF the due date is in the past, THE API SHALL answer 400.',
  ])('accepts the EARS form %j', (ears) => {
    expect(evaluate(withEars(ears)).accepted).toBe(true)
  })

  it.each([
    ['Users can set a due date.', 'no SHALL: EARS states the response with SHALL, not CAN'],
    ['THE system SHOULD store due dates.', 'no SHALL: EARS states the response with SHALL, not SHOULD'],
    ['WHEN a user saves a todo, SHALL store it.', 'no subject before SHALL: after the WHEN clause, name who or what acts'],
    ['SHALL store due dates.', 'no subject before SHALL: name who or what acts'],
    ['IF the due date lies in the past the request SHALL be refused.', 'no subject before SHALL: IF needs THEN or a comma before the subject'],
  ])('rejects the non-EARS text %j, naming the requirement and what is missing', (ears, missing) => {
    const verdict = evaluate(withEars(ears))
    expect(verdict.accepted).toBe(false)
    expect(verdict.hard_failures).toEqual([expect.stringContaining(`REQ-001 is not in EARS form: ${missing}`)])
  })

  it('rejects an empty list', () => {
    const verdict = evaluate({ requirements: [] })
    expect(verdict.hard_failures).toEqual(['no requirements: submit at least one requirement.'])
    expect(verdict.score).toBe(0)
  })

  it('rejects duplicate ids', () => {
    const [first, second, third] = goodRequirements.requirements
    const verdict = evaluate({ requirements: [first, { ...second!, id: 'REQ-001' }, third] })
    expect(verdict.hard_failures).toEqual(['duplicate requirement id REQ-001: give every requirement its own id.'])
  })

  it('rejects a requirement without acceptance criteria', () => {
    const requirements = structuredClone(goodRequirements)
    requirements.requirements[1]!.acceptance_criteria = []
    const verdict = evaluate(requirements)
    expect(verdict.accepted).toBe(false)
    expect(verdict.feedback).toContain('\n- REQ-002 has no acceptance criteria: add at least one testable criterion.')
  })

  it('names schema issues by dot path', () => {
    const requirements: Record<string, unknown>[] = structuredClone(goodRequirements).requirements
    requirements[0]!.acceptance_criteria = 'it works'
    delete requirements[1]!.acceptance_criteria
    requirements[2]!.priority = 'high'
    requirements[2]!.id = 'R3'
    expect(evaluate({ requirements }).hard_failures).toEqual([
      'requirements.0.acceptance_criteria: must be an array (got "it works")',
      'requirements.1.acceptance_criteria: must be an array (it is missing)',
      'requirements.2.id: must look like REQ-001',
      'requirements.2.priority: must be one of "must", "should", "could" (got "high")',
      'REQ-001 has no acceptance criteria: add at least one testable criterion.',
      'REQ-002 has no acceptance criteria: add at least one testable criterion.',
    ])
  })

  it('scores titles, priorities and criteria per requirement, and rejects the same text under two ids', () => {
    const requirements = structuredClone(goodRequirements).requirements.map((r) => ({
      ...r,
      priority: 'should' as const,
      acceptance_criteria: r.acceptance_criteria.slice(0, 1),
    }))
    requirements[0]!.title = 'Due dates'
    requirements[2]!.ears = requirements[1]!.ears.toUpperCase()
    const verdict = evaluate({ requirements })
    expect(verdict).toMatchObject({ accepted: false, score: 0 })
    expect(verdict.feedback.split('\n')).toEqual([
      'Rejected (score 0.00): 1 hard rule failed; the weighted checks alone score 0.70.',
      'Hard rules:',
      expect.stringMatching(/^- REQ-002 and REQ-003 state the same requirement \("IF a due date lies in the past, .*"\): merge them/),
      'Checks:',
      '- titles must be descriptive (REQ-001 "Due dates"): use at least 3 words or 15 characters.',
      '- no requirement has priority "must": mark the ones the feature cannot ship without.',
      '- requirements with fewer than 2 acceptance criteria (REQ-001, REQ-002, REQ-003): give each at least 2.',
    ])
  })
})

describe('design', () => {
  const evaluate = (o: unknown) => evaluatePhase('design', o, {})

  it('lists thin parts of a design', () => {
    const components = [{ name: 'routes', responsibility: 'HTTP', files: [] }]
    const verdict = evaluate({ ...goodDesign, overview: 'Add a column.', components, risks: [] })
    expect(verdict).toMatchObject({ accepted: false, score: 0.25 })
    expect(verdict.feedback.split('\n')).toEqual([
      'Rejected (score 0.25; 0.70 needed).',
      '- overview is 13 characters: explain the approach in at least 100.',
      '- components whose responsibility is under 3 words (routes): say what each one does.',
      '- components without files (routes): list the files each component lives in.',
      '- risks is empty: name what could go wrong and how you would notice.',
    ])
  })

  it('rejects a design without components, saying so once', () => {
    const verdict = evaluate({ ...goodDesign, components: [] })
    expect(verdict).toMatchObject({ accepted: false, score: 0.55 })
    expect(verdict.feedback.split('\n')).toEqual([
      'Rejected (score 0.55; 0.70 needed).',
      '- components is empty: name the components with their responsibility and files.',
    ])
  })

  it('gives partial credit: 5 of 6 components with files and no risks is accepted, naming what failed', () => {
    const components = ['parser', 'renderer', 'store', 'routes', 'job', 'cli'].map((name, i) => ({
      name,
      responsibility: `the ${name} of the todo service`,
      files: i === 5 ? [] : [`src/${name}.ts`],
    }))
    const verdict = evaluate({ ...goodDesign, components, risks: [] })
    expect(verdict).toMatchObject({ accepted: true, score: 0.88 })
    expect(verdict.feedback.split('\n')).toEqual([
      'Accepted (score 0.88).',
      'Soft checks that failed:',
      '- components without files (cli): list the files each component lives in.',
      '- risks is empty: name what could go wrong and how you would notice.',
    ])
  })

  it('fails hard only on schema issues, and still reports what the checks score', () => {
    const { data_models: _, ...rest } = goodDesign
    const verdict = evaluate({ ...rest, api: [{ method: 'GET', path: '/todos' }] })
    expect(verdict).toMatchObject({ accepted: false, score: 0 })
    expect(verdict.feedback).toMatch(/^Rejected \(score 0\.00\): 2 hard rules failed; the weighted checks alone score 0\.95\./)
    expect(verdict.hard_failures).toEqual([
      'data_models: must be an array (it is missing)',
      'api.0.description: must be a string (it is missing)',
    ])
  })
})
