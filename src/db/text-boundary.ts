/**
 * The one text boundary: every string postgres.js sends as text or json/jsonb passes here (connect.ts installs these as
 * the serializers of those types), so no query, present or future, can store bytes PostgreSQL refuses. Agents produce
 * arbitrary bytes (`find -print0`, binary output, a cut emoji); they must never become a 500, a stalled phase or a
 * dropped batch.
 *
 * - NUL (U+0000), which neither text nor jsonb may hold, becomes U+2400 `␀` (a visible stand-in).
 * - A lone surrogate becomes U+FFFD. In text, Node's UTF-8 encoder would do that anyway; in JSON it is written as a
 *   `\udXXX` escape, which jsonb refuses.
 */

const NUL_OR_LONE_SURROGATE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/** A string as text may store it. */
export function cleanText(text: string): string {
  return text.replace(NUL_OR_LONE_SURROGATE, (c) => (c === '\u0000' ? '\u2400' : '\ufffd'))
}

/**
 * `JSON.stringify` output as jsonb may store it. JSON.stringify writes NUL as `\u0000` and a lone surrogate as a
 * `\udXXX` escape (a proper pair stays raw), so only escapes need rewriting; an escaped backslash is matched first so a
 * literal `\\u0000` (backslash, then the text "u0000") is left alone.
 */
export function cleanJson(json: string): string {
  return json.replace(/\\(?:\\|u0000|u[dD][89a-fA-F][0-9a-fA-F]{2})/g, (escape) =>
    escape === '\\\\' ? escape : escape === '\\u0000' ? '\\u2400' : '\\ufffd',
  )
}
