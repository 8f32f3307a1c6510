/** Longest title the command page derives from an idea; the API allows more, a room header does not. */
export const TITLE_MAX = 80

/**
 * A spec title from the idea as typed: its first non-empty line, whitespace collapsed, at most {@link TITLE_MAX}
 * characters. A longer line is cut at a word boundary when one is reasonably close, and ends with "…".
 */
export function deriveTitle(idea: string, max = TITLE_MAX): string {
  const line = idea
    .split(/\r?\n/)
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .find((l) => l.length > 0)
  if (!line) return ''
  const chars = Array.from(line) // never split a surrogate pair
  if (chars.length <= max) return line
  const head = chars.slice(0, max - 1).join('')
  const space = head.lastIndexOf(' ')
  const cut = space >= Math.floor(max / 2) ? head.slice(0, space) : head
  return cut.replace(/[\s.,;:!?-]+$/, '') + '…'
}
