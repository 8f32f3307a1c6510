/**
 * Lengths that work for every script. The evaluators' minimums ("at least 20 characters", "at least 3 words") were written
 * for English; Chinese and Japanese put no spaces between words and say in one character what English says in several.
 */

const graphemeSegmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' })

/** Han, kana and Hangul: the scripts written without spaces between words. */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u
const EVERY_CJK = new RegExp(CJK.source, 'gu')

/** A CJK character reads like about three Latin letters (a short word); see `readingLength`. */
const CJK_WEIGHT = 3

/** Whether `text` contains a Han, kana or Hangul character. */
export function hasCjk(text: string): boolean {
  return CJK.test(text)
}

/** User-perceived characters (an emoji with modifiers or a letter with combining marks is one). */
export function graphemes(text: string): string[] {
  return [...graphemeSegmenter.segment(text)].map((s) => s.segment)
}

/**
 * Length for "is this text substantial?" minimums expressed in Latin characters: each grapheme counts 1, a CJK character
 * counts 3, so an 18-character Chinese description (54) is not "thin" against a minimum of 20.
 */
export function readingLength(text: string): number {
  return graphemes(text.trim()).reduce((n, g) => n + (CJK.test(g) ? CJK_WEIGHT : 1), 0)
}

/**
 * Words of `text`: whitespace-separated tokens that contain a letter or digit, where every CJK character counts as one
 * word ("命令接口" is four).
 */
export function wordCount(text: string): number {
  let count = 0
  for (const token of text.split(/\s+/)) {
    const cjk = graphemes(token).filter((g) => CJK.test(g)).length
    const rest = token.replace(EVERY_CJK, ' ')
    count += cjk + rest.split(/\s+/).filter((part) => /[\p{L}\p{N}]/u.test(part)).length
  }
  return count
}
