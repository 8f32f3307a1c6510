import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openWorkspace } from '../../src/sandbox/worker/tools.ts'
import { waitFor } from '../support/wait.ts'

let base: string
let outside: string
let tools: Awaited<ReturnType<typeof openWorkspace>>

const realHome = process.env.HOME

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'omoi-tools-'))
  // commands run in login shells: with the machine's own profile, one killed by a timeout half-way through a rehash
  // of a version manager (pyenv) would leave its lock behind and stall every later login shell of the machine
  process.env.HOME = base
  outside = join(base, 'outside')
  const root = join(base, 'workspace')
  await mkdir(join(root, 'src'), { recursive: true })
  await mkdir(join(root, '.git'), { recursive: true })
  await mkdir(join(root, 'node_modules/dep'), { recursive: true })
  await mkdir(outside)
  await writeFile(join(outside, 'secret.txt'), 'top secret\n')
  await writeFile(join(root, 'README.md'), '# Demo\n')
  await writeFile(join(root, 'src/app.ts'), 'export const a = 1\nexport const b = 1\n')
  await writeFile(join(root, '.git/config'), 'needle\n')
  await writeFile(join(root, 'node_modules/dep/index.js'), 'needle\n')
  await symlink(outside, join(root, 'escape'))
  await symlink(join(outside, 'secret.txt'), join(root, 'secret-link.txt'))
  await symlink(join(outside, 'not-yet.txt'), join(root, 'dangling.txt'))
  tools = await openWorkspace(root)
})

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

afterAll(async () => {
  process.env.HOME = realHome
  await rm(base, { recursive: true, force: true })
})

describe('paths are confined to the workspace', () => {
  const escapes: [string, Record<string, string>][] = [
    ['read_file', { path: '../outside/secret.txt' }],
    ['read_file', { path: '/etc/passwd' }],
    ['read_file', { path: 'secret-link.txt' }],
    ['read_file', { path: 'escape/secret.txt' }],
    ['write_file', { path: 'escape/new.txt', content: 'x' }],
    ['write_file', { path: '../x', content: 'x' }],
    ['write_file', { path: 'dangling.txt', content: 'x' }],
    ['list_files', { path: 'escape' }],
    ['search', { pattern: 'secret', path: '..' }],
    ['edit_file', { path: 'secret-link.txt', old_text: 'top', new_text: 'bottom' }],
  ]
  it.each(escapes)('%s %j is refused', async (tool, input) => {
    const outcome = await tools.run(tool, input)
    expect(outcome.ok).toBe(false)
    expect(outcome.text).toMatch(/path escapes the workspace|broken symlink/)
  })

  it('leaves everything outside untouched', async () => {
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('top secret\n')
    await expect(readFile(join(outside, 'new.txt'))).rejects.toThrow()
    await expect(readFile(join(outside, 'not-yet.txt'))).rejects.toThrow()
  })

  it('accepts an absolute path inside the workspace', async () => {
    expect(await tools.run('read_file', { path: join(tools.root, 'README.md') })).toEqual({ ok: true, text: '# Demo\n' })
  })
})

describe('file tools', () => {
  it('lists files without .git and node_modules', async () => {
    const { ok, text } = await tools.run('list_files', {})
    expect(ok).toBe(true)
    expect(text.split('\n')).toEqual(expect.arrayContaining(['README.md', 'src/', 'src/app.ts']))
    expect(text).not.toMatch(/\.git|node_modules/)
  })

  it('writes and reads a file in a new folder', async () => {
    expect((await tools.run('write_file', { path: 'docs/new/notes.md', content: 'hello' })).ok).toBe(true)
    expect(await tools.run('read_file', { path: 'docs/new/notes.md' })).toEqual({ ok: true, text: 'hello' })
  })

  it('caps read_file at 100 KB', async () => {
    await tools.run('write_file', { path: 'big.txt', content: 'x'.repeat(150_000) })
    const { ok, text } = await tools.run('read_file', { path: 'big.txt' })
    expect(ok).toBe(true)
    expect(text.length).toBeLessThan(100_200)
    expect(text).toContain('truncated: the file has 150000 bytes')
  })

  it('edit_file needs exactly one occurrence', async () => {
    const none = await tools.run('edit_file', { path: 'src/app.ts', old_text: 'const z', new_text: 'const y' })
    expect(none).toEqual({ ok: false, text: expect.stringContaining('does not occur') })
    const twice = await tools.run('edit_file', { path: 'src/app.ts', old_text: '= 1', new_text: '= 2' })
    expect(twice).toEqual({ ok: false, text: expect.stringContaining('occurs 2 times') })
    expect(await readFile(join(tools.root, 'src/app.ts'), 'utf8')).toBe('export const a = 1\nexport const b = 1\n')

    expect((await tools.run('edit_file', { path: 'src/app.ts', old_text: 'b = 1', new_text: "b = '$&'" })).ok).toBe(true)
    expect(await readFile(join(tools.root, 'src/app.ts'), 'utf8')).toBe("export const a = 1\nexport const b = '$&'\n")
  })

  it('edits and searches a file with CRLF line endings as the model reads it, keeping its line endings', async () => {
    await writeFile(join(tools.root, 'win.ts'), 'var a = 1;\r\nvar b = 2;\r\nvar c = 3;\r\n')
    // the model writes lines with \n whatever the file has
    var edited = await tools.run('edit_file', { path: 'win.ts', old_text: 'var a = 1;\nvar b = 2;', new_text: 'var a = 10;\nvar b = 20;' })
    expect(edited).toEqual({ ok: true, text: 'edited win.ts' })
    expect(await readFile(join(tools.root, 'win.ts'), 'utf8')).toBe('var a = 10;\r\nvar b = 20;\r\nvar c = 3;\r\n')
    expect(await tools.run('search', { pattern: '= 3;$' })).toEqual({ ok: true, text: 'win.ts:3: var c = 3;' })
  })

  it('keeps CRLF line endings when a one-line old_text is replaced by several lines written with \\n', async () => {
    await writeFile(join(tools.root, 'win2.ts'), 'var a = 1;\r\nvar c = 3;\r\n')
    // the usual way to add a line: anchor on one line, give it back with the new one after it
    expect(await tools.run('edit_file', { path: 'win2.ts', old_text: 'var a = 1;', new_text: 'var a = 1;\nvar b = 2;' })).toEqual({ ok: true, text: 'edited win2.ts' })
    expect(await readFile(join(tools.root, 'win2.ts'), 'utf8')).toBe('var a = 1;\r\nvar b = 2;\r\nvar c = 3;\r\n')
    // an old_text that begins at a line's \n (after its \r) gains no second \r
    expect((await tools.run('edit_file', { path: 'win2.ts', old_text: '\nvar c', new_text: '\nvar d = 4;\nvar c' })).ok).toBe(true)
    expect(await readFile(join(tools.root, 'win2.ts'), 'utf8')).toBe('var a = 1;\r\nvar b = 2;\r\nvar d = 4;\r\nvar c = 3;\r\n')
    // a file with both endings is left to what the model wrote
    await writeFile(join(tools.root, 'mixed.ts'), 'var a = 1;\r\nvar c = 3;\n')
    await tools.run('edit_file', { path: 'mixed.ts', old_text: 'var a = 1;', new_text: 'var a = 1;\nvar b = 2;' })
    expect(await readFile(join(tools.root, 'mixed.ts'), 'utf8')).toBe('var a = 1;\nvar b = 2;\r\nvar c = 3;\n')
  })

  it('searches with a regular expression, skipping .git and node_modules', async () => {
    expect(await tools.run('search', { pattern: 'const \\w = 1' })).toEqual({ ok: true, text: 'src/app.ts:1: export const a = 1' })
    expect(await tools.run('search', { pattern: 'needle' })).toEqual({ ok: true, text: 'no matches' })
    expect((await tools.run('search', { pattern: '(' })).text).toMatch(/invalid regular expression/)
  })

  it('answers unknown tools and bad input as tool errors', async () => {
    expect(await tools.run('delete_everything', {})).toEqual({ ok: false, text: 'unknown tool delete_everything' })
    expect((await tools.run('read_file', { file: 'README.md' })).text).toMatch(/invalid input for read_file/)
    expect((await tools.run('read_file', { path: 'missing.txt' })).text).toMatch(/no such file/)
  })
})

describe('run_command', () => {
  it('runs in the workspace and reports the exit code', async () => {
    expect(await tools.run('run_command', { command: 'cat README.md' })).toEqual({ ok: true, text: 'exit code 0\n# Demo\n' })
    const failed = await tools.run('run_command', { command: 'echo oops >&2; exit 3' })
    expect(failed).toEqual({ ok: false, text: 'exit code 3\noops\n' })
  })

  it('kills the whole command on timeout', async () => {
    // long enough for the shell to start its background child on a loaded machine; far below the commands' own 30 s
    const outcome = await tools.run('run_command', { command: 'sleep 30 & echo $! > bg.pid; sleep 30', timeout_s: 4 })
    expect(outcome.ok).toBe(false)
    expect(outcome.text).toMatch(/outlived its timeout/)
    const backgroundPid = Number(await readFile(join(tools.root, 'bg.pid'), 'utf8'))
    await waitFor(() => !isAlive(backgroundPid), { what: 'the background sleep to be killed', timeoutMs: 3_000 })
  })

  it('keeps only the last 20,000 characters of output', async () => {
    const { ok, text } = await tools.run('run_command', { command: 'seq 1 20000; echo THE-END' })
    expect(ok).toBe(true)
    expect(text.length).toBeLessThanOrEqual(20_000 + 'exit code 0\n'.length)
    expect(text).toMatch(/THE-END\n$/)
    expect(text).not.toContain('\n1\n2\n3\n')
  })

  it('does not hand the worker secrets to commands', async () => {
    process.env.OMOI_SANDBOX_TOKEN = 'sandbox-secret'
    try {
      const { text } = await tools.run('run_command', { command: 'env' })
      expect(text).not.toContain('sandbox-secret')
    } finally {
      delete process.env.OMOI_SANDBOX_TOKEN
    }
  })
})
