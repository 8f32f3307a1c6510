/**
 * Cutting text without breaking it. Lengths are counted in UTF-16 units (what `.length` says), but a cut never falls
 * between the two halves of a surrogate pair: a half emoji is a lone surrogate, which JSON carries as `\udXXX` and
 * PostgreSQL's jsonb refuses. Pure; shared by the server and the sandbox worker.
 */

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff

/** The first `max` units of `text` (one fewer when unit `max` would split a pair). */
export function head(text: string, max: number): string {
  if (text.length <= max) return text
  const end = max > 0 && isHigh(text.charCodeAt(max - 1)) ? max - 1 : max
  return text.slice(0, Math.max(0, end))
}

/** The last `max` units of `text` (one fewer when its first unit would be the second half of a pair). */
export function tail(text: string, max: number): string {
  if (text.length <= max) return text
  if (max <= 0) return ''
  const start = text.length - max
  return text.slice(isLow(text.charCodeAt(start)) ? start + 1 : start)
}
