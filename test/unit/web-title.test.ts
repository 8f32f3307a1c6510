import { describe, expect, it } from 'vitest'
import { TITLE_MAX, deriveTitle } from '../../src/web/lib/title.ts'

describe('deriveTitle', () => {
  it('uses the first non-empty line of the idea', () => {
    expect(deriveTitle('\n\n  Add CSV export  \nwith filters\nand tests')).toBe('Add CSV export')
  })

  it('collapses runs of whitespace', () => {
    expect(deriveTitle('Add\t\tCSV   export')).toBe('Add CSV export')
  })

  it('keeps a line of exactly the maximum length whole', () => {
    const line = 'x'.repeat(TITLE_MAX)
    expect(deriveTitle(line)).toBe(line)
  })

  it('cuts a long line at a word boundary and marks the cut, within the maximum', () => {
    const idea = 'Build a reporting dashboard that shows weekly revenue per region with drill-down into individual stores and export'
    const title = deriveTitle(idea)
    expect(title.length).toBeLessThanOrEqual(TITLE_MAX)
    expect(title.endsWith('…')).toBe(true)
    expect(idea.startsWith(title.slice(0, -1))).toBe(true)
    expect(title.slice(0, -1).endsWith(' ')).toBe(false)
    expect(idea[title.length - 1]).toBe(' ') // the cut fell on a space
  })

  it('cuts a long word-less line at the maximum', () => {
    const title = deriveTitle('a'.repeat(200))
    expect(title).toBe('a'.repeat(TITLE_MAX - 1) + '…')
  })

  it('never splits an emoji in half', () => {
    const title = deriveTitle('😀'.repeat(100))
    expect(Array.from(title)).toHaveLength(TITLE_MAX)
    expect(title).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/)
  })

  it('is empty for an idea with no text', () => {
    expect(deriveTitle('  \n \t\n')).toBe('')
  })
})
