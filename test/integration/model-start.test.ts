import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sdkDeprecations } from '../../src/actors/model-deprecations.ts'

/** `npm start` with a model the installed SDK has deprecated (issue 10 case 5): a warning line, or a stop past its end of life. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
let dataDir: string
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'omoi-model-start-'))
})
afterAll(() => rm(dataDir, { recursive: true, force: true }))

/** Starts the server and answers what it printed on stderr once `until` matches it or it exited (then it is killed). */
function start(model: string, until: RegExp): Promise<{ stderr: string; code: number | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', OMOI_DATA_DIR: dataDir, PORT: '0', OMOI_MODEL: model },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  return new Promise((resolve) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
      if (until.test(stderr)) child.kill('SIGKILL')
    })
    child.once('exit', (code) => resolve({ stderr, code }))
  })
}

describe('a deprecated OMOI_MODEL at start', () => {
  it('a model past its end of life stops the start with one line naming OMOI_MODEL', async () => {
    expect(sdkDeprecations().get('claude-mythos-preview')!.getTime()).toBeLessThan(Date.now())
    const { stderr, code } = await start('claude-mythos-preview', /$^/)
    expect(code).toBe(1)
    expect(stderr).toBe(
      'omoi: invalid setting OMOI_MODEL: claude-mythos-preview reached its end of life on 2026-06-30; ' +
        'use claude-sonnet-5-5 (the default) or another current model\n',
    )
  })

  it('a deprecated model still in service warns once with its end-of-life date', async () => {
    const endOfLife = sdkDeprecations().get('claude-opus-4-5')!
    const { stderr } = await start('claude-opus-4-5', /end of life/)
    const line =
      endOfLife.getTime() > Date.now()
        ? 'omoi: warning: OMOI_MODEL claude-opus-4-5 is deprecated and reaches its end of life on 2027-01-22'
        : 'omoi: invalid setting OMOI_MODEL: claude-opus-4-5 reached its end of life on 2027-01-22'
    expect(stderr.split('\n').filter((l) => l.includes('end of life'))).toEqual([expect.stringContaining(line)])
  })
})
