import { RequirementsSchema, type Requirement } from '../schemas/phase-outputs.ts'
import { parseEars } from './ears.ts'
import { hasMeasure, isObservable, isTooShort, isVague, smellsIn, type Smell } from './smells.ts'
import { duplicates } from './sync-plan.ts'
import { readingLength, wordCount } from './text-length.ts'
import { inspect, perItem, verdict, type Verdict } from './verdict.ts'

/**
 * The requirements evaluator. Hard rules: ids unique, every requirement in EARS form (the parser says what is missing),
 * with acceptance criteria long enough to observe something, not vague without a measure, not stated twice. Soft checks
 * score per item (partial credit) and name the items that fail.
 */
export function evaluateRequirements(output: unknown): Verdict {
  const { data, failures } = inspect(RequirementsSchema, output)
  const reqs = data.requirements
  const hard = [...failures]
  if (reqs.length === 0) hard.push('no requirements: submit at least one requirement.')
  for (const id of duplicates(reqs.map((r) => r.id))) hard.push(`duplicate requirement id ${id}: give every requirement its own id.`)
  for (const r of reqs) hard.push(...hardRules(r))
  for (const [first, second] of sameText(reqs)) {
    hard.push(`${first.id} and ${second.id} state the same requirement ("${first.ears}"): merge them or give each its own behaviour.`)
  }

  const criteria = reqs.flatMap((r) => r.acceptance_criteria.map((text, i) => ({ id: `${r.id}.${i + 1}`, text })))
  const vagueTitles = reqs.filter((r) => wordCount(r.title) < 3 && readingLength(r.title) < 15).map((r) => `${r.id} "${r.title}"`)
  const fewCriteria = reqs.filter((r) => r.acceptance_criteria.length < 2).map((r) => r.id)
  const unobservable = criteria.filter((c) => !isTooShort(c.text) && !isObservable(c.text)).map((c) => `${c.id} "${c.text}"`)
  const unmeasured = reqs.filter((r) => !r.acceptance_criteria.some(hasMeasure)).map((r) => r.id)
  const smelly = reqs.map((r) => ({ id: r.id, smells: smellsOf(r) })).filter((r) => r.smells.length > 0)
  const nearDuplicates = nearlySame(reqs)
  return verdict(
    [
      perItem(0.15, reqs.length, vagueTitles, (ids) => `titles must be descriptive${ids}: use at least 3 words or 15 characters.`),
      {
        weight: 0.1,
        pass: reqs.some((r) => r.priority === 'must'),
        fix: 'no requirement has priority "must": mark the ones the feature cannot ship without.',
      },
      perItem(0.15, reqs.length, fewCriteria, (ids) => `requirements with fewer than 2 acceptance criteria${ids}: give each at least 2.`),
      perItem(
        0.2,
        criteria.length,
        unobservable,
        (ids) => `criteria with no observable outcome${ids}: say what a tester sees (a response, a message, a stored value).`,
        'no acceptance criteria at all: give every requirement criteria a tester can check.',
      ),
      perItem(
        0.1,
        reqs.length,
        unmeasured,
        (ids) =>
          `requirements with no measurable criterion${ids}: add one with a number and unit, a status code or a named output.`,
      ),
      perItem(
        0.2,
        reqs.length,
        smelly.map((r) => r.id),
        () => `requirement smells: ${smelly.map((r) => `${r.id}: ${r.smells.join(', ')}`).join('; ')}.`,
      ),
      perItem(
        0.1,
        reqs.length,
        [...new Set(nearDuplicates.flat().map((r) => r.id))],
        () =>
          `near-duplicate requirements (${nearDuplicates.map(([a, b]) => `${a.id} ≈ ${b.id}`).join(', ')}): ` +
          'state each behaviour once, or make the difference explicit.',
      ),
    ],
    hard,
  )
}

function hardRules(r: Requirement): string[] {
  const errors: string[] = []
  const parsed = parseEars(r.ears)
  if (!parsed.ok) errors.push(`${r.id} is not in EARS form: ${parsed.missing}.`)
  if (r.acceptance_criteria.length === 0) errors.push(`${r.id} has no acceptance criteria: add at least one testable criterion.`)
  r.acceptance_criteria.forEach((text, i) => {
    if (isTooShort(text)) {
      errors.push(`${r.id}.${i + 1} "${text}" is too short to observe anything: say what a tester sees happen.`)
    }
  })
  const response = parsed.ok ? parsed.response : r.ears
  const vague = smellsIn(response).filter((s) => s.kind === 'vague' || s.kind === 'superlative' || s.kind === 'comparative')
  if (isVague(response) && r.acceptance_criteria.length > 0 && !r.acceptance_criteria.some(hasMeasure)) {
    errors.push(
      `${r.id} is vague (${vague.map((s) => `"${s.phrase}"`).join(', ')}) and no criterion measures it: ` +
        'add a criterion with a number and unit, a status code or a named output.',
    )
  }
  return errors
}

const SMELL_TEXT: Record<Smell['kind'], (phrase: string) => string> = {
  vague: (p) => `"${p}" is vague without a measure`,
  superlative: (p) => `"${p}" is a superlative without a reference`,
  comparative: (p) => `"${p}" compares without saying to what`,
  loophole: (p) => `"${p}" is a loophole`,
  open_ended: (p) => `"${p}" leaves the list open`,
}

/** Each smell of a requirement's EARS text and criteria, as `"fast" is vague without a measure` (criteria prefixed by id). */
function smellsOf(r: Requirement): string[] {
  const own = smellsIn(r.ears).map((s) => SMELL_TEXT[s.kind](s.phrase))
  const ofCriteria = r.acceptance_criteria.flatMap((text, i) =>
    smellsIn(text).map((s) => `${r.id}.${i + 1} ${SMELL_TEXT[s.kind](s.phrase)}`),
  )
  return [...own, ...ofCriteria]
}

const wordSegmenter = new Intl.Segmenter(undefined, { granularity: 'word' })
const FILLER = new Set(['the', 'a', 'an', 'shall', 'when', 'while', 'where', 'if', 'then', 'and'])

/** The words of a text, lower-cased, without articles and EARS keywords. */
function words(text: string): string[] {
  return [...wordSegmenter.segment(text.normalize('NFKC').toLowerCase())]
    .filter((s) => s.isWordLike && !FILLER.has(s.segment))
    .map((s) => s.segment)
}

/** Pairs of requirements whose EARS text is the same once case, punctuation and articles are set aside. */
function sameText(reqs: Requirement[]): [Requirement, Requirement][] {
  return pairs(reqs).filter(([a, b]) => words(a.ears).join(' ') === words(b.ears).join(' '))
}

/** Pairs that differ a little (at least 85 % of their distinct words shared) but are not the same text. */
function nearlySame(reqs: Requirement[]): [Requirement, Requirement][] {
  return pairs(reqs).filter(([a, b]) => {
    const [x, y] = [new Set(words(a.ears)), new Set(words(b.ears))]
    const shared = [...x].filter((w) => y.has(w)).length
    const union = new Set([...x, ...y]).size
    return union > 0 && shared / union >= 0.85 && words(a.ears).join(' ') !== words(b.ears).join(' ')
  })
}

function pairs<T>(items: T[]): [T, T][] {
  return items.flatMap((a, i) => items.slice(i + 1).map((b): [T, T] => [a, b]))
}
