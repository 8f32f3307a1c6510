import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCheckIn } from '../../src/actors/delivery-git.ts'
import { probeBwrap, type Isolation } from '../../src/sandbox/bwrap.ts'

/**
 * The check command the server runs on a spec's branch is the project's (or what EXPLORE's agent proposed): it is
 * confined like an agent's sandbox, seeing the system read-only and its own working copy, nothing else of the host.
 */
let isolation: Isolation
let copy: string
let secrets: string

beforeAll(async () => {
  isolation = await probeBwrap()
  copy = await mkdtemp(join(tmpdir(), 'omoi-check-copy-'))
  secrets = await mkdtemp(join(tmpdir(), 'omoi-check-secrets-'))
  await writeFile(join(secrets, 'token'), 'do not read me')
})
afterAll(async () => {
  await rm(copy, { recursive: true, force: true })
  await rm(secrets, { recursive: true, force: true })
})

describe('the integrated check', () => {
  it('works in its working copy and reaches nothing else of the host', async () => {
    const ok = await runCheckIn(copy, 'echo built > out.txt && node -e "process.exit(0)"', { isolation })
    expect(ok).toMatchObject({ passed: true, exit_code: 0 })
    expect(await readFile(join(copy, 'out.txt'), 'utf8')).toBe('built\n')

    const peek = await runCheckIn(copy, `cat ${join(secrets, 'token')}`, { isolation })
    expect(peek.passed).toBe(false)
    expect(peek.output_tail).not.toContain('do not read me')
    // the server's own files (its source, here) are not there at all
    const source = join(process.cwd(), 'package.json')
    expect((await runCheckIn(copy, `cat ${source}`, { isolation })).passed).toBe(false)
    expect((await runCheckIn(copy, `touch /usr/omoi-was-here`, { isolation })).passed).toBe(false)
    expect((await runCheckIn(copy, `test -z "$(ls /proc | grep -x ${process.pid})"`, { isolation })).passed).toBe(true)
  })
})
