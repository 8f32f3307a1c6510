import * as v from 'valibot'
import { AppError } from '../errors.ts'

/** How deep JSON input may nest (objects and arrays). Deeper input is refused before any schema or database sees it. */
export const MAX_INPUT_DEPTH = 64

/**
 * Validates input against a schema; failure is a 400 `invalid_body` whose `fields` name every problem by dot path.
 * Input nested deeper than MAX_INPUT_DEPTH is refused first, naming the field it hangs under.
 */
export function parseInput<const S extends v.GenericSchema>(schema: S, input: unknown, what = 'body'): v.InferOutput<S> {
  const deep = tooDeep(input, MAX_INPUT_DEPTH)
  if (deep !== null) {
    const key = deep || what
    const message = `${key} nests deeper than ${MAX_INPUT_DEPTH} levels`
    throw new AppError('invalid_body', `The request ${what} is invalid: ${message}.`, { [key]: [message] })
  }
  const unworded = new WeakSet<v.BaseIssue<unknown>>()
  const result = v.safeParse(schema, input, { message: (issue) => (unworded.add(issue), '') })
  if (result.success) return result.output
  const fields: Record<string, string[]> = {}
  for (const issue of result.issues) {
    const path = v.getDotPath(issue)
    const key = path || what
    const message = !path
      ? `${what} must be a JSON object`
      : issue.kind === 'schema' && issue.received === 'undefined'
        ? `${key} is required`
        : unworded.has(issue)
          ? `${key} ${fallbackWording(issue)}`
          : issue.message
    ;(fields[key] ??= []).push(message)
  }
  const first = Object.entries(fields)[0]
  throw new AppError('invalid_body', `The request ${what} is invalid: ${first ? first[1][0] : 'check the fields'}.`, fields)
}

/**
 * null when `input` nests at most `limit` levels; else the field that holds the too-deep value: the first named field
 * along the path of the first container past the limit, with the array items leading to it (`events.0.data`,
 * `description`), not a path of 64 segments. Iterative: a 10,000-level document must not overflow the stack here.
 */
export function tooDeep(input: unknown, limit: number): string | null {
  const stack: { value: unknown; path: string[] }[] = [{ value: input, path: [] }]
  while (stack.length > 0) {
    const { value, path } = stack.pop()!
    if (value === null || typeof value !== 'object') continue
    if (path.length >= limit) return fieldOf(path)
    for (const [key, child] of Object.entries(value)) {
      if (child !== null && typeof child === 'object') stack.push({ value: child, path: [...path, key] })
    }
  }
  return null
}

const isIndex = (segment: string) => /^\d+$/.test(segment)

function fieldOf(path: string[]): string {
  const field: string[] = []
  for (const [i, segment] of path.entries()) {
    const next = path[i + 1]
    if (isIndex(segment) && next !== undefined && isIndex(next)) break
    field.push(segment)
    if (!isIndex(segment) && (next === undefined || !isIndex(next))) break
  }
  while (field.length > 1 && isIndex(field.at(-1)!)) field.pop()
  return field.join('.') || path[0]!
}

/**
 * The wording of a check whose schema gives no message of its own (every field should: this keeps valibot's
 * "Invalid length: Expected <=100 but received 10000" from ever reaching a person). Never quotes the input back.
 */
function fallbackWording(issue: v.BaseIssue<unknown>): string {
  const { type, requirement, input } = issue
  const unit = Array.isArray(input) ? 'items' : 'characters'
  switch (type) {
    case 'string':
      return 'must be a string'
    case 'number':
      return 'must be a number'
    case 'boolean':
      return 'must be true or false'
    case 'object':
    case 'loose_object':
    case 'strict_object':
    case 'record':
      return 'must be a JSON object'
    case 'array':
      return 'must be an array'
    case 'picklist':
      return `must be one of ${issue.expected}`
    case 'integer':
      return 'must be a whole number'
    case 'min_length':
      return `must have at least ${requirement} ${unit}`
    case 'max_length':
      return `must be at most ${requirement} ${unit}`
    case 'min_value':
      return `must be at least ${requirement}`
    case 'max_value':
      return `must be at most ${requirement}`
    default:
      return 'has the wrong format'
  }
}
