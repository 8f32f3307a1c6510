import type { Dirent } from 'node:fs'
import { mkdir, open, readdir, readFile, realpath, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import * as v from 'valibot'
import { runCommand } from './command.ts'
import { confine, shown, ToolError } from './paths.ts'
import { head } from '../../schemas/text.ts'

/** What a tool answers the model: `ok: false` becomes a tool_result with is_error. */
export interface ToolOutcome {
  ok: boolean
  text: string
}

const READ_CAP = 100_000
const LIST_CAP = 2_000
const SEARCH_HITS_CAP = 200
const SEARCH_FILE_CAP = 1_000_000
const SKIPPED_DIRS = new Set(['.git', 'node_modules'])

const Inputs = {
  list_files: v.object({ path: v.optional(v.string()) }),
  read_file: v.object({ path: v.string() }),
  write_file: v.object({ path: v.string(), content: v.string() }),
  edit_file: v.object({ path: v.string(), old_text: v.string(), new_text: v.string() }),
  search: v.object({ pattern: v.string(), path: v.optional(v.string()) }),
  run_command: v.object({ command: v.string(), timeout_s: v.optional(v.number()) }),
}
type ToolName = keyof typeof Inputs
type Handlers = { [K in ToolName]: (input: v.InferOutput<(typeof Inputs)[K]>) => Promise<string> }

/** Files under `dir` (recursively, without .git and node_modules), directories with a trailing slash. */
async function* walk(dir: string): AsyncGenerator<{ path: string; entry: Dirent }> {
  const entries = await readdir(dir, { withFileTypes: true })
  entries.sort((a, b) => a.name.localeCompare(b.name))
  for (const entry of entries) {
    if (entry.isDirectory() && SKIPPED_DIRS.has(entry.name)) continue
    const path = join(dir, entry.name)
    yield { path, entry }
    if (entry.isDirectory()) yield* walk(path)
  }
}

function isBinary(bytes: Buffer): boolean {
  return bytes.subarray(0, 8_000).includes(0)
}

function countOccurrences(text: string, part: string): number {
  let count = 0
  for (let at = text.indexOf(part); at !== -1; at = text.indexOf(part, at + part.length)) count++
  return count
}

/**
 * The edit to make in `text`: `old_text` and `new_text` as given, or — in a file with CRLF line endings, where the model
 * writes its lines with \n whatever it read — both with CRLF, when only that form occurs in the file.
 */
function inFileLineEndings(text: string, oldText: string, newText: string): { oldText: string; newText: string } {
  if (countOccurrences(text, oldText) > 0 || !text.includes('\r\n') || !oldText.includes('\n')) return { oldText, newText }
  const crlf = (part: string) => part.replace(/\r?\n/g, '\r\n')
  return countOccurrences(text, crlf(oldText)) > 0 ? { oldText: crlf(oldText), newText: crlf(newText) } : { oldText, newText }
}

/** A line feed not preceded by a carriage return. */
const BARE_LF = /(?<!\r)\n/g

/** Whether the text has line breaks and every one is CRLF. */
const onlyCrlf = (text: string): boolean => text.includes('\r\n') && text.search(BARE_LF) < 0

/** The workspace tools of CONTRACT §8, confined to `dir`. */
export async function openWorkspace(dir: string): Promise<{ root: string; run(name: string, input: unknown): Promise<ToolOutcome> }> {
  const root = await realpath(dir)

  const handlers: Handlers = {
    async list_files({ path }) {
      const base = await confine(root, path)
      if (!(await stat(base)).isDirectory()) throw new ToolError(`${path} is not a directory`)
      const lines: string[] = []
      for await (const { path: found, entry } of walk(base)) {
        if (lines.length === LIST_CAP) return `${lines.join('\n')}\n… (stopped after ${LIST_CAP} entries)`
        lines.push(shown(root, found) + (entry.isDirectory() ? '/' : ''))
      }
      return lines.length > 0 ? lines.join('\n') : '(empty)'
    },

    async read_file({ path }) {
      const file = await confine(root, path)
      const size = (await stat(file)).size
      const handle = await open(file, 'r')
      try {
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(Math.min(size, READ_CAP)), 0, Math.min(size, READ_CAP), 0)
        const bytes = buffer.subarray(0, bytesRead)
        if (isBinary(bytes)) return `${path} is a binary file of ${size} bytes`
        const text = bytes.toString('utf8')
        return size > READ_CAP ? `${text}\n… (truncated: the file has ${size} bytes, this is the first ${READ_CAP})` : text
      } finally {
        await handle.close()
      }
    },

    async write_file({ path, content }) {
      const file = await confine(root, path)
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, content)
      return `wrote ${Buffer.byteLength(content)} bytes to ${shown(root, file)}`
    },

    async edit_file({ path, ...edit }) {
      const file = await confine(root, path)
      if (edit.old_text === '') throw new ToolError('old_text must not be empty')
      const text = await readFile(file, 'utf8')
      const { oldText: old_text, newText: new_text } = inFileLineEndings(text, edit.old_text, edit.new_text)
      const count = countOccurrences(text, old_text)
      if (count !== 1) {
        const found = count === 0 ? 'does not occur' : `occurs ${count} times`
        throw new ToolError(`old_text ${found} in ${path}; it must occur exactly once (include more surrounding lines)`)
      }
      // Sliced rather than String#replace, which would interpret `$&` and friends in new_text.
      const at = text.indexOf(old_text)
      const edited = text.slice(0, at) + new_text + text.slice(at + old_text.length)
      // A file whose every line ends with CRLF keeps them: a line the model added after a one-line old_text ("a" →
      // "a\nb") would otherwise end with a bare \n.
      await writeFile(file, onlyCrlf(text) ? edited.replace(BARE_LF, '\r\n') : edited)
      return `edited ${shown(root, file)}`
    },

    async search({ pattern, path }) {
      let regex: RegExp
      try {
        regex = new RegExp(pattern)
      } catch (err) {
        throw new ToolError(`invalid regular expression: ${(err as Error).message}`)
      }
      const hits: string[] = []
      for await (const { path: file, entry } of walk(await confine(root, path))) {
        if (!entry.isFile() || (await stat(file)).size > SEARCH_FILE_CAP) continue
        const bytes = await readFile(file)
        if (isBinary(bytes)) continue
        const lines = bytes.toString('utf8').split(/\r?\n/)
        for (const [i, line] of lines.entries()) {
          if (!regex.test(line)) continue
          if (hits.length === SEARCH_HITS_CAP) return `${hits.join('\n')}\n… (stopped after ${SEARCH_HITS_CAP} matches)`
          hits.push(`${shown(root, file)}:${i + 1}: ${head(line, 300)}`)
        }
      }
      return hits.length > 0 ? hits.join('\n') : 'no matches'
    },

    async run_command({ command, timeout_s }) {
      const result = await runCommand(root, command, timeout_s)
      const status = result.timedOut ? 'killed: the command outlived its timeout' : `exit code ${result.exitCode}`
      const text = `${status}\n${result.output}`
      if (result.exitCode !== 0) throw new ToolError(text)
      return text
    },
  }

  return {
    root,
    async run(name, input) {
      if (!Object.hasOwn(Inputs, name)) return { ok: false, text: `unknown tool ${name}` }
      const tool = name as ToolName
      const parsed = v.safeParse(Inputs[tool], input)
      if (!parsed.success) return { ok: false, text: `invalid input for ${name}: ${v.summarize(parsed.issues)}` }
      try {
        return { ok: true, text: await (handlers[tool] as (input: unknown) => Promise<string>)(parsed.output) }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (err instanceof ToolError) return { ok: false, text: err.message }
        if (code === 'ENOENT') return { ok: false, text: `no such file or directory: ${(input as { path?: string }).path}` }
        return { ok: false, text: `${name} failed: ${(err as Error).message}` }
      }
    },
  }
}
