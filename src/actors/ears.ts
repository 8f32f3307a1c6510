import { hasCjk } from './text-length.ts'

/**
 * A parser for EARS sentences (Easy Approach to Requirements Syntax): `[WHILE <state>] [WHERE <feature>] [WHEN <trigger> |
 * IF <unwanted>] [,|THEN] <subject> SHALL <response>`, in any order and combination of the clauses. It accepts what people
 * really write: any subject (THE SYSTEM, the API, it, Kiro, 系统), keywords in any case and next to CJK text, with or
 * without a comma or THEN before the subject, after a list number, markdown emphasis or a leading symbol.
 */

export type EarsPattern = 'ubiquitous' | 'event' | 'state' | 'optional' | 'unwanted'

export interface EarsParts {
  ok: true
  /** The patterns combined, in the order their clauses appear; `['ubiquitous']` when there is no clause. */
  patterns: EarsPattern[]
  /** WHILE (state) and WHERE (feature) clauses, without their keyword. */
  preconditions: string[]
  /** The WHEN (event) or IF (unwanted behaviour) clause without its keyword; clauses of both kinds joined by "; ". */
  trigger: string | null
  subject: string
  /** What follows SHALL, without the final full stop. */
  response: string
}

export interface NotEars {
  ok: false
  /** What is missing, as a phrase a writer can act on, e.g. "no subject before SHALL". */
  missing: string
}

const KIND: Record<string, EarsPattern> = { when: 'event', while: 'state', where: 'optional', if: 'unwanted' }

/** Keywords are matched as whole Latin words: CJK text may touch them ("WHEN用户登录THEN系统SHALL…"). */
const word = (w: string, flags = 'i') => new RegExp(`(?<![A-Za-z])${w}(?![A-Za-z])`, flags)
const SHALL = word('shall')
const CLAUSE_AT_START = /^(when|while|where|if)(?![A-Za-z])/i
const ARTICLES = new Set(['the', 'a', 'an', 'then', 'and'])

/** Parse one EARS sentence into its parts, or say what keeps it from being one. */
export function parseEars(sentence: string): EarsParts | NotEars {
  const text = clean(sentence)
  const shall = SHALL.exec(text)
  if (!shall) return { ok: false, missing: missingShall(text) }
  const head = text.slice(0, shall.index).trim()
  const response = text
    .slice(shall.index + shall[0].length)
    .replace(/^[\s,、;:]+|[\s.。!！]+$/gu, '')
  if (!/[\p{L}\p{N}]/u.test(response)) return { ok: false, missing: 'nothing after SHALL: say what the subject does' }

  const lead = CLAUSE_AT_START.exec(head)
  if (!lead) {
    return hasSubject(head)
      ? { ok: true, patterns: ['ubiquitous'], preconditions: [], trigger: null, subject: tidy(head), response }
      : { ok: false, missing: 'no subject before SHALL: name who or what acts ("THE SYSTEM SHALL …", "it SHALL …")' }
  }
  const keyword = lead[1]!.toUpperCase()
  const split = splitSubject(head)
  if (!split) {
    return {
      ok: false,
      missing:
        `no subject before SHALL: ${keyword} needs THEN or a comma before the subject ` +
        `("${keyword} <condition>, THE SYSTEM SHALL <response>")`,
    }
  }
  if (!hasSubject(split.subject) || CLAUSE_AT_START.test(split.subject)) {
    return { ok: false, missing: `no subject before SHALL: after the ${keyword} clause, name who or what acts` }
  }
  const clauses = splitClauses(split.conditions)
  const empty = clauses.find((c) => !/[\p{L}\p{N}]/u.test(c.text))
  if (empty) return { ok: false, missing: `${empty.keyword} has no condition: say what it depends on` }
  const triggers = clauses.filter((c) => c.pattern === 'event' || c.pattern === 'unwanted').map((c) => c.text)
  return {
    ok: true,
    patterns: [...new Set(clauses.map((c) => c.pattern))],
    preconditions: clauses.filter((c) => c.pattern === 'state' || c.pattern === 'optional').map((c) => c.text),
    trigger: triggers.length > 0 ? triggers.join('; ') : null,
    subject: tidy(split.subject),
    response,
  }
}

/** The EARS pattern's name, which guides and templates put before a sentence ("Event-driven: WHEN …"). */
const PATTERN_LABEL =
  /^(?:ubiquitous|event[- ]driven|state[- ]driven|optional(?:[- ]feature)?|unwanted(?:[- ]behaviou?r)?|complex)(?:\s+requirement)?(?:\s*:\s*|\s+[-–—]\s+)/iu

/**
 * The sentence without what people put around it: list numbers and labels ("1.", "2.3)", "FR-001:", "Event-driven:"),
 * markdown emphasis, bullets, checkboxes, emoji. NFKC turns full-width commas and letters into their ASCII forms.
 */
export function clean(sentence: string): string {
  let text = sentence
    .normalize('NFKC')
    .replace(/\*\*|__|~~/g, '')
    .replace(/(^|[\s(])[*_](?=\S)/g, '$1')
    .replace(/(\S)[*_](?=[\s,.;:)]|$)/g, '$1')
    .trim()
  for (let before = ''; before !== text; ) {
    before = text
    text = text
      .replace(/^[^\p{L}\p{N}]+/u, '')
      .replace(/^(?:\d+(?:\.\d+)*|[A-Z]{1,4}-?\d+(?:\.\d+)*|[a-z])[.):]\s*/u, '')
      .replace(PATTERN_LABEL, '')
      .trim()
  }
  return text.replace(/\s+/g, ' ')
}

function missingShall(text: string): string {
  const modal = /(?<![A-Za-z])(must|should|will|shall not|can|may)(?![A-Za-z])/i.exec(text)?.[1]
  return modal
    ? `no SHALL: EARS states the response with SHALL, not ${modal.toUpperCase()} ("<subject> SHALL <response>")`
    : 'no SHALL: state the response as "<subject> SHALL <response>"'
}

/** A lower-case subject without a separator is recognised only when it names a system ("… mode the API SHALL …"). */
const SYSTEM_NOUNS = [
  'system', 'api', 'server', 'service', 'app', 'application', 'cli', 'tool', 'backend', 'frontend', 'ui', 'platform',
  'module', 'component', 'job', 'worker', 'scheduler', 'database', 'engine', 'bot', 'client', 'website', 'editor', 'dashboard',
]
const SYSTEM_SUBJECT = new RegExp(`(?<![A-Za-z])the\\s+(?:[\\w-]+\\s+){0,2}(?:${SYSTEM_NOUNS.join('|')})$`, 'i')

/**
 * Where a conditional head ends and the subject begins: after the last THEN; else after the later of the last comma and
 * the last upper-case THE (`WHEN the user runs greet THE SYSTEM SHALL …`); else at a trailing "the <system noun>"; else,
 * in CJK text, the last space-separated word (`WHEN 用户登录 系统 SHALL …`). Any other lower-case "the" is not a
 * boundary: in `WHEN the user clicks the button SHALL turn blue` nothing names who acts.
 */
function splitSubject(head: string): { conditions: string; subject: string } | null {
  const at = (index: number, skip: number) => ({ conditions: head.slice(0, index), subject: head.slice(index + skip) })
  const then = lastMatch(head, word('then', 'gi'))
  if (then && then.index > 0) return at(then.index, then.length)
  const comma = lastMatch(head, /[,、;]/g)
  const the = lastMatch(head, /(?<![A-Za-z])THE(?![A-Za-z])/g)
  const best = [comma, the].filter((m) => m && m.index > 0).sort((a, b) => b!.index - a!.index)[0]
  if (best) return at(best.index, best === the ? 0 : best.length)
  const system = SYSTEM_SUBJECT.exec(head)
  if (system && system.index > 0) return at(system.index, 0)
  const words = head.split(' ')
  const last = words.at(-1) ?? ''
  if (words.length > 2 && hasCjk(last)) return at(head.length - last.length, 0)
  return null
}

function lastMatch(text: string, pattern: RegExp): { index: number; length: number } | null {
  let found: { index: number; length: number } | null = null
  for (const m of text.matchAll(pattern)) found = { index: m.index, length: m[0].length }
  return found
}

/** Clauses start at a keyword at the start, after a comma or "and", or written in upper case anywhere. */
function splitClauses(conditions: string): { keyword: string; pattern: EarsPattern; text: string }[] {
  const starts = [...conditions.matchAll(/(?<![A-Za-z])(when|while|where|if)(?![A-Za-z])/gi)].filter(
    (m) => m.index === 0 || m[1] === m[1]!.toUpperCase() || /(?:[,、;]|\band)\s*$/i.test(conditions.slice(0, m.index)),
  )
  return starts.map((m, i) => {
    const keyword = m[1]!
    const end = starts[i + 1]?.index ?? conditions.length
    const text = conditions
      .slice(m.index + m[0].length, end)
      .trim()
      .replace(/(?:^|[\s,、;]+)(?:and)?[\s,、;]*$/iu, '')
      .trim()
    return { keyword: keyword.toUpperCase(), pattern: KIND[keyword.toLowerCase()]!, text }
  })
}

function hasSubject(subject: string): boolean {
  return tidy(subject)
    .split(' ')
    .some((w) => /[\p{L}\p{N}]/u.test(w) && !ARTICLES.has(w.toLowerCase()))
}

function tidy(text: string): string {
  return text.replace(/^[\s,、;]+|[\s,、;]+$/gu, '').trim()
}
