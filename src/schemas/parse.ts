import * as v from 'valibot'
import { AppError } from '../errors.ts'

/** Validates input against a schema; failure is a 400 `invalid_body` whose `fields` name every problem by dot path. */
export function parseInput<const S extends v.GenericSchema>(schema: S, input: unknown, what = 'body'): v.InferOutput<S> {
  const result = v.safeParse(schema, input)
  if (result.success) return result.output
  const fields: Record<string, string[]> = {}
  for (const issue of result.issues) {
    const path = v.getDotPath(issue)
    const key = path || what
    const message = !path
      ? `${what} must be a JSON object`
      : issue.kind === 'schema' && issue.received === 'undefined'
        ? `${key} is required`
        : issue.message
    ;(fields[key] ??= []).push(message)
  }
  const first = Object.entries(fields)[0]
  throw new AppError('invalid_body', `The request ${what} is invalid: ${first ? first[1][0] : 'check the fields'}.`, fields)
}
