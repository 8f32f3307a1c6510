import { hasCjk, readingLength, wordCount } from './text-length.ts'

/**
 * Requirement smells: wording that makes a requirement impossible to test. Each finding names the phrase, so feedback can
 * say "REQ-003: "fast" is vague without a measure" instead of a generic rule.
 */

export type SmellKind = 'vague' | 'superlative' | 'comparative' | 'loophole' | 'open_ended'

export interface Smell {
  kind: SmellKind
  /** The phrase as written. */
  phrase: string
}

const phrases = (list: string[], flags = 'giu') =>
  new RegExp(`(?<![\\p{L}\\p{N}])(?:${list.join('|')})(?![\\p{L}\\p{N}])`, flags)
const cjkPhrases = (list: string[]) => new RegExp(list.join('|'), 'gu')

const VAGUE = phrases([
  'fast(?!-forward)', 'quick(?:ly)?', 'slow(?:ly)?', 'speedy', 'snappy', 'user[- ]friendly', 'easy', 'easily', 'intuitive(?:ly)?',
  'simple', 'robust(?:ly)?', 'reliabl[ey]', 'efficient(?:ly)?', 'flexible', 'scalable', 'seamless(?:ly)?', 'smooth(?:ly)?',
  'as appropriate', 'where appropriate', 'appropriate(?:ly)?', 'adequate(?:ly)?', 'sufficient(?:ly)?', 'reasonabl[ey]',
  'properly', 'correctly', 'well', 'good', 'nice', 'modern', 'performant', 'high[- ]performance', 'responsive',
  'lightweight', 'state[- ]of[- ]the[- ]art', 'timely', 'in a timely manner', 'as needed',
])
const VAGUE_CJK = cjkPhrases(['快速', '友好', '易用', '高效', '稳定', '简单', '适当', '合理', '良好', '流畅', '使いやすい', '高速', '適切', '簡単', '効率的'])
const SUPERLATIVE = phrases([
  'best', 'worst', 'fastest', 'slowest', 'easiest', 'simplest', 'optimal(?:ly)?', 'optimum', 'maximal', 'minimal',
])
const COMPARATIVE = phrases([
  'better', 'worse', 'faster', 'slower', 'easier', 'simpler', 'quicker', 'more efficient(?:ly)?', 'improved', 'enhanced',
])
const LOOPHOLE = phrases([
  'if possible', 'where possible', 'when possible', 'as far as possible', 'as much as possible', 'if feasible',
  'if practical', 'if necessary', 'ideally',
])
const LOOPHOLE_CJK = cjkPhrases(['尽可能', '尽量', '如果可能', '可能な限り', 'できるだけ'])
const OPEN_ENDED = phrases([
  'etc\\.?', 'and so on', 'and so forth', 'and the like', 'among others', 'including but not limited to', 'and more',
])
const OPEN_ENDED_CJK = cjkPhrases(['等等', 'など'])

/** The smells in one sentence, in the order of the rules above; each phrase once. */
export function smellsIn(text: string): Smell[] {
  const found: Smell[] = []
  const add = (kind: SmellKind, pattern: RegExp, keep: (phrase: string, index: number) => boolean = () => true) => {
    for (const m of text.matchAll(pattern)) {
      if (keep(m[0], m.index) && !found.some((s) => s.phrase.toLowerCase() === m[0].toLowerCase())) found.push({ kind, phrase: m[0] })
    }
  }
  const measured = hasMeasure(text)
  // "as well as", "works well with 10 users": not vague; a measure in the sentence makes a vague word concrete.
  add('vague', VAGUE, (phrase, index) => !measured && !(phrase.toLowerCase() === 'well' && /^well\s+as\b/i.test(text.slice(index))))
  add('vague', VAGUE_CJK, () => !measured)
  add('superlative', SUPERLATIVE, () => !measured)
  add('comparative', COMPARATIVE, () => !/(?<![\p{L}])than(?![\p{L}])|比|より/iu.test(text) && !measured)
  add('loophole', LOOPHOLE)
  add('loophole', LOOPHOLE_CJK)
  add('open_ended', OPEN_ENDED)
  add('open_ended', OPEN_ENDED_CJK)
  return found
}

/** Whether a sentence states a vague quality ("be fast", "work well") without a measure. */
export function isVague(text: string): boolean {
  return smellsIn(text).some((s) => s.kind === 'vague' || s.kind === 'superlative' || s.kind === 'comparative')
}

/** A number followed by a unit or a counted noun: "200 ms", "2 decimals", "10 %", "3 件". */
const UNIT = /\d(?:[\d.,:]*\d)?\s?[\p{L}%°]/u
const STATUS = /(?<![\d.])[1-5]\d\d(?![\d.])/u
/** Quoted text; a straight single quote only when it cannot be an apostrophe ("the user's"). */
const NAMED = /(?<![\p{L}\p{N}])(?:"[^"]{1,80}"|'[^']{1,80}'(?![\p{L}])|“[^”]{1,80}”|‘[^’]{1,80}’|「[^」]{1,80}」|『[^』]{1,80}』|`[^`]{1,80}`)/u
/** EARS keywords and generic nouns written in capitals are not named outputs. */
const NOT_NAMES = 'THE|SHALL|MUST|SHOULD|WILL|MAY|CAN|WHEN|WHILE|WHERE|IF|THEN|AND|OR|NOT|SYSTEM|API|UI|CLI|APP'
const CODE = new RegExp(
  [
    '[A-Za-z]\\w*(?:_\\w+|\\.[A-Za-z_]\\w+|\\(\\))', // snake_case, dotted.names, calls()
    '(?<!\\w)\\/[\\w:.-]+', // /paths
    '(?<![\\w-])--?[a-z][\\w-]+', // --flags
    `\\b(?!(?:${NOT_NAMES})\\b)[A-Z]{2,}[A-Z_0-9]*\\b`, // JSON, ENOENT
    '\\b[a-z]+[A-Z]\\w*', // camelCase
  ].join('|'),
  'u',
)

/**
 * Whether a sentence can be checked against a number: a number with a unit, an HTTP status code, or a named output (quoted
 * text, a code identifier, a path, a flag, an upper-case name such as JSON or ENOENT).
 */
export function hasMeasure(text: string): boolean {
  return UNIT.test(text) || STATUS.test(text) || NAMED.test(text) || CODE.test(text)
}

/** Outcomes that say nothing a tester can check: "it works", "errors are handled". */
const NO_OUTCOME = phrases(
  ['works?', 'working', 'as expected', 'is implemented', 'are implemented', 'is handled', 'are handled', 'happy', 'satisfied', 'pleasant'],
  'iu',
)

/**
 * Whether a criterion names an outcome one could observe: it has a measure, or it is at least 3 words (12 in CJK reading
 * length) and neither vague nor an empty outcome such as "it works".
 */
export function isObservable(criterion: string): boolean {
  if (hasMeasure(criterion)) return true
  if (isVague(criterion) || NO_OUTCOME.test(criterion)) return false
  return hasCjk(criterion) ? readingLength(criterion) >= 12 : wordCount(criterion) >= 3
}

/** A criterion too short to observe anything: a single word or letter (in CJK text, fewer than 4 characters). */
export function isTooShort(criterion: string): boolean {
  return hasCjk(criterion) ? readingLength(criterion) < 12 : wordCount(criterion) < 2
}
