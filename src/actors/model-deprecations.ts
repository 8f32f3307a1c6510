import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december']

/** "November 30th, 2026" → 2026-11-30 (UTC midnight); anything else → null. */
export function parseEndOfLife(text: string): Date | null {
  const m = /^([A-Za-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$/.exec(text.trim())
  const month = m ? MONTHS.indexOf(m[1]!.toLowerCase()) : -1
  if (!m || month < 0) return null
  return new Date(Date.UTC(Number(m[3]), month, Number(m[2])))
}

/**
 * The installed SDK's own deprecation table (model id → end-of-life date). The SDK keeps it in a file its package
 * exports do not expose, so it is read by path; a layout change answers an empty table rather than stopping the start.
 */
export function sdkDeprecations(): Map<string, Date> {
  const require = createRequire(import.meta.url)
  const table = new Map<string, Date>()
  try {
    const root = dirname(require.resolve('@anthropic-ai/sdk'))
    const { DEPRECATED_MODELS } = require(join(root, 'internal/data/deprecated-models.js')) as { DEPRECATED_MODELS: Record<string, string> }
    for (const [id, text] of Object.entries(DEPRECATED_MODELS)) {
      const date = parseEndOfLife(text)
      if (date) table.set(id, date)
    }
  } catch {
    // an SDK without the table: no model is known to be deprecated
  }
  return table
}
