import * as v from 'valibot'

/**
 * Field rules shared by the request schemas (src/schemas/api.ts): text a person types, repository paths, and URLs that
 * must not carry credentials. Pure: valibot only.
 */

/** A person types names and titles: a NUL character in one is a mistake to point out, not text to store. */
export const noNul = (what: string) => v.check((s: string) => !s.includes('\u0000'), `${what} must not contain NUL characters (\\u0000)`)

// Whitespace and invisible format characters (Unicode Cf: U+200B zero-width space, U+2060 word joiner, U+FEFF, …):
// a name made only of them looks empty wherever it is shown.
const VISIBLE = /[^\s\p{Cf}]/u
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' })

/** User-perceived characters (extended grapheme clusters): 👨‍👩‍👧‍👦 is one, although it is 7 code points. */
export function graphemeCount(text: string): number {
  let n = 0
  for (const _ of segmenter.segment(text)) n++
  return n
}

/**
 * UTF-8 bytes a text of `max` characters may take: generous for emoji sequences (a family emoji is 25 bytes), but a
 * "character" of thousands of stacked combining marks is still refused.
 */
export const byteCap = (max: number) => max * 32

/**
 * Text a person types (a name, a title, a message): trimmed, not blank (whitespace and invisible format characters do
 * not count), at most `max` user-perceived characters and `byteCap(max)` UTF-8 bytes, no NUL.
 */
export const personText = (what: string, max: number) =>
  v.pipe(
    v.string(`${what} must be a string`),
    v.trim(),
    v.check((s) => VISIBLE.test(s), `${what} must not be empty (or only spaces and invisible characters)`),
    // a string of at most `max` UTF-16 units has at most `max` graphemes: only longer ones are segmented
    v.check((s) => s.length <= max || graphemeCount(s) <= max, `${what} must be at most ${max} characters`),
    v.check((s) => s.length <= byteCap(max) / 3 || Buffer.byteLength(s) <= byteCap(max), `${what} must be at most ${byteCap(max)} bytes of UTF-8`),
    noNul(what),
  )

/** Control characters (C0, DEL, C1) in a path are never part of a file name a repository holds on purpose. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/**
 * A file path inside a repository, as git names it (`src/app.ts`): relative, no `..` segment, no control characters
 * (NUL included), not starting with `-` or `:` (which git would read as an option or pathspec magic).
 */
export const repoPath = (what: string) =>
  v.pipe(
    v.string(`${what} must be a string`),
    v.minLength(1, `${what} must not be empty`),
    v.maxLength(1000, `${what} must be at most 1000 characters`),
    v.check((p) => !CONTROL.test(p), `${what} must not contain control characters (NUL, newlines, …)`),
    v.check((p) => !p.startsWith('/'), `${what} must be relative to the repository root, not absolute`),
    v.check((p) => !p.split('/').includes('..'), `${what} must not contain a ".." segment`),
    v.check((p) => !p.startsWith('-') && !p.startsWith(':'), `${what} must be a file path of the repository (not starting with - or :)`),
  )

/** An opaque id given in a query string (`project_id=`): present means not empty. */
export const queryId = (what: string) =>
  v.pipe(v.string(`${what} must be a string`), v.trim(), v.minLength(1, `${what} must not be empty: give an id or leave ${what} out`), v.maxLength(200, `${what} must be at most 200 characters`))

// scheme://userinfo@host: the userinfo of a URL, whatever the scheme
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@/i

/**
 * Does this git URL carry a password or token in it? http(s), git and ftp URLs with any userinfo (a token often sits
 * in the user part), ssh URLs with a password (`ssh://git@host/…` and `git@host:path` name a user, not a secret).
 */
export function urlHasCredentials(url: string): boolean {
  const m = USERINFO.exec(url)
  if (!m) return false
  return /^ssh:/i.test(m[1]!) ? m[2]!.includes(':') : m[2] !== ''
}

/** `url` with the credentials of urlHasCredentials replaced by `***` (for rows stored before they were refused). */
export function redactUrl(url: string): string {
  if (!urlHasCredentials(url)) return url
  return url.replace(USERINFO, (_all, scheme: string, info: string) =>
    /^ssh:/i.test(scheme) ? `${scheme}${info.slice(0, info.indexOf(':'))}:***@` : `${scheme}***@`,
  )
}
