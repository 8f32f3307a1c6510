import * as v from 'valibot'

/**
 * The machinery every evaluator shares: read a submission against its schema (keeping a best-effort typed view even when it
 * is invalid, so the score still says how much is right), score weighted checks and write the feedback the model reads.
 */

/** The lowest score that is accepted (when there is no hard failure). */
export const ACCEPT_SCORE = 0.7

export interface Verdict {
  accepted: boolean
  /** 0..1, two decimals: the weighted checks' score, or 0 when a hard rule failed (such a submission cannot pass). */
  score: number
  /**
   * Text for the model, starting with the one header: "Accepted (score 0.85)." with the soft checks that failed, or
   * "Rejected (…)" with every failed hard rule and check, each naming its items.
   */
  feedback: string
  hard_failures: string[]
}

/** A scored check; `fix` is the feedback line shown when it fails. Weights of one evaluator sum to 1. */
export interface Check {
  weight: number
  pass: boolean
  fix: string
  /** For a check over items: the share of items that pass (0..1); the check then earns `weight × share`. */
  share?: number
}

/**
 * A check scored per item (partial credit): `total` items of which `failing` (their ids) fail. `fix` gets the failing ids
 * as a parenthesised list. With no items at all the check fails, with `empty` as its line.
 */
export function perItem(weight: number, total: number, failing: string[], fix: (ids: string) => string, empty?: string): Check {
  if (total === 0) return { weight, pass: false, share: 0, fix: empty ?? fix('') }
  return { weight, pass: failing.length === 0, share: (total - failing.length) / total, fix: fix(listed(failing)) }
}

/** ` (REQ-001, REQ-003)`, or nothing for an empty list. */
function listed(names: string[]): string {
  return names.length > 0 ? ` (${names.join(', ')})` : ''
}

/**
 * Score `checks` (each earns `weight × share`, or its whole weight when it passes) and write the feedback. Any hard
 * failure rejects the submission and makes its score 0; the feedback then still says what the checks alone score.
 */
export function verdict(checks: Check[], hardFailures: string[]): Verdict {
  const sum = checks.reduce((total, check) => total + check.weight * (check.share ?? (check.pass ? 1 : 0)), 0)
  // Rounded before comparing, so 0.1 + 0.6 counts as the 0.7 it is meant to be.
  const checked = Math.round(sum * 100) / 100
  const score = hardFailures.length > 0 ? 0 : checked
  const accepted = score >= ACCEPT_SCORE && hardFailures.length === 0
  const failed = [...new Set(checks.filter((check) => !check.pass).map((check) => `- ${check.fix}`))]
  const hard = hardFailures.map((line) => `- ${line}`)
  let lines: string[]
  if (accepted) {
    lines = [`Accepted (score ${score.toFixed(2)}).`, ...(failed.length > 0 ? ['Soft checks that failed:', ...failed] : [])]
  } else if (hard.length > 0) {
    const rules = hard.length === 1 ? '1 hard rule' : `${hard.length} hard rules`
    lines = [
      `Rejected (score 0.00): ${rules} failed; the weighted checks alone score ${checked.toFixed(2)}.`,
      'Hard rules:',
      ...hard,
      ...(failed.length > 0 ? ['Checks:', ...failed] : []),
    ]
  } else {
    lines = [`Rejected (score ${score.toFixed(2)}; ${ACCEPT_SCORE.toFixed(2)} needed).`, ...failed]
  }
  return { accepted, score, feedback: lines.join('\n'), hard_failures: hardFailures }
}

/** The parts of valibot's schema objects we walk; our phase schemas only use these kinds. */
type Node = v.GenericSchema & {
  entries?: Record<string, Node>
  item?: Node
  options?: readonly string[]
}

/**
 * Validate `raw` with `schema`. Invalid input still yields `data`: the raw value coerced into the schema's shape (wrong types
 * become empty values), so checks can score what is there. `failures` names each schema issue by dot path.
 */
export function inspect<S extends v.GenericSchema>(
  schema: S,
  raw: unknown,
): { data: v.InferOutput<S>; failures: string[] } {
  const result = v.safeParse(schema, raw)
  if (result.success) return { data: result.output, failures: [] }
  const root = schema as unknown as Node
  return {
    data: coerce(root, raw) as v.InferOutput<S>,
    failures: result.issues.map((issue) => describeIssue(root, issue)),
  }
}

/** Read a property path of an unvalidated value. */
export function rawAt(raw: unknown, ...keys: string[]): unknown {
  let value = raw
  for (const key of keys) value = isRecord(value) ? value[key] : undefined
  return value
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function coerce(schema: Node, raw: unknown): unknown {
  switch (schema.type) {
    case 'object': {
      const record = isRecord(raw) ? raw : {}
      return Object.fromEntries(Object.entries(schema.entries ?? {}).map(([key, entry]) => [key, coerce(entry, record[key])]))
    }
    case 'array':
      return Array.isArray(raw) && schema.item ? raw.map((item) => coerce(schema.item!, item)) : []
    case 'number':
      return typeof raw === 'number' && Number.isFinite(raw) ? raw : 0
    case 'boolean':
      return raw === true
    default:
      return typeof raw === 'string' ? raw.trim() : ''
  }
}

function describeIssue(root: Node, issue: v.BaseIssue<unknown>): string {
  const path = v.getDotPath(issue) ?? 'submission'
  if (issue.kind !== 'schema') {
    // Our own pipe messages ("must not be empty") read well; valibot's defaults start with "Invalid".
    const message = issue.message.startsWith('Invalid') ? `must be ${issue.expected} (got ${issue.received})` : issue.message
    return `${path}: ${message}`
  }
  const got = issue.received === 'undefined' ? 'it is missing' : `got ${issue.received}`
  return `${path}: must be ${expected(schemaAt(root, issue))} (${got})`
}

/** The schema a schema issue is about; for a missing key valibot reports the parent object, the path names the key. */
function schemaAt(root: Node, issue: v.BaseIssue<unknown>): Node | undefined {
  let node: Node | undefined = root
  for (const item of issue.path ?? []) {
    node = node?.type === 'object' ? node.entries?.[String(item.key)] : node?.item
  }
  return node
}

function expected(schema: Node | undefined): string {
  if (!schema) return 'valid'
  switch (schema.type) {
    case 'object':
      return 'an object'
    case 'array':
      return 'an array'
    case 'picklist':
      return `one of ${(schema.options ?? []).map((option) => JSON.stringify(option)).join(', ')}`
    default:
      return `a ${schema.type}`
  }
}
