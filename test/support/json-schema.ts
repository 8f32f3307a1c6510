/**
 * Checks a value against the JSON Schema subset the OpenAPI document uses (type, properties, required,
 * additionalProperties, items, enum, const, anyOf/oneOf/allOf, string formats and bounds). Answers what is wrong, by
 * path; empty when the value fits.
 */
export type JsonSchema = Record<string, any>

const typeOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value

const fitsType = (value: unknown, type: string) => {
  const actual = typeOf(value)
  return actual === type || (type === 'number' && actual === 'integer')
}

export function schemaProblems(schema: JsonSchema, value: unknown, path = '$'): string[] {
  const problems: string[] = []
  const add = (msg: string) => problems.push(`${path}: ${msg}`)
  if (schema.type !== undefined) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type]
    if (!types.some((t) => fitsType(value, t))) return [`${path}: expected ${types.join('|')}, got ${typeOf(value)}`]
  }
  if (schema.enum && !schema.enum.some((e: unknown) => e === value)) add(`${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`)
  if ('const' in schema && schema.const !== value) add(`expected ${JSON.stringify(schema.const)}`)
  if (schema.anyOf && !schema.anyOf.some((s: JsonSchema) => schemaProblems(s, value, path).length === 0)) add('matches none of anyOf')
  if (schema.oneOf && schema.oneOf.filter((s: JsonSchema) => schemaProblems(s, value, path).length === 0).length !== 1) add('does not match exactly one of oneOf')
  for (const s of schema.allOf ?? []) problems.push(...schemaProblems(s, value, path))
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && [...value].length < schema.minLength) add(`shorter than ${schema.minLength}`)
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) add(`longer than ${schema.maxLength}`)
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) add(`does not match ${schema.pattern}`)
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) add('is not a date-time')
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) add(`below ${schema.minimum}`)
    if (schema.maximum !== undefined && value > schema.maximum) add(`above ${schema.maximum}`)
  }
  if (Array.isArray(value) && schema.items) value.forEach((item, i) => problems.push(...schemaProblems(schema.items, item, `${path}[${i}]`)))
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>
    for (const key of schema.required ?? []) if (!(key in obj)) add(`missing ${key}`)
    for (const [key, v] of Object.entries(obj)) {
      const sub = schema.properties?.[key]
      if (sub) problems.push(...schemaProblems(sub, v, `${path}.${key}`))
      else if (schema.additionalProperties === false) add(`unexpected property ${key}`)
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        problems.push(...schemaProblems(schema.additionalProperties, v, `${path}.${key}`))
      }
    }
  }
  return problems
}
