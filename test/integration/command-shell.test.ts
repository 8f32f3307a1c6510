import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCommand } from '../../src/sandbox/worker/command.ts'
import { probeBwrap } from '../../src/sandbox/probe.ts'
import { tempDir } from '../support/temp.ts'

/**
 * An agent's `run_command` runs its command, not the host user's shell set-up. An unconfined sandbox's worker has the
 * server's HOME; a login shell there read the user's dotfiles first, and on a machine whose `.bashrc` runs
 * `pyenv init`, every command waited 60 s on the lock file that one killed `pyenv rehash` had left.
 */
const saved = { HOME: process.env.HOME, BASH_ENV: process.env.BASH_ENV, OMOI_COMMAND_SANDBOX: process.env.OMOI_COMMAND_SANDBOX }
let workspace: string

beforeEach(async () => {
  const home = await tempDir('command-home')
  workspace = await tempDir('command-workspace')
  // a set-up that blocks, as pyenv's rehash does on a stale lock, and ones that would show in the output
  await writeFile(join(home, '.bash_profile'), 'sleep 600\n')
  for (const file of ['.bash_login', '.profile', '.bashrc']) await writeFile(join(home, file), `echo "read ${file}"\n`)
  await writeFile(join(home, 'env.sh'), 'echo "read BASH_ENV"\n')
  process.env.HOME = home
  process.env.BASH_ENV = join(home, 'env.sh')
})
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
})

describe("an agent's command", () => {
  it('unconfined: runs at once, with none of the startup files of its HOME or BASH_ENV', async () => {
    delete process.env.OMOI_COMMAND_SANDBOX
    expect(await runCommand(workspace, 'echo "$HOME"; pwd', 10)).toEqual({ exitCode: 0, timedOut: false, output: `${process.env.HOME}\n${workspace}\n` })
  })

  it("in its nested bubblewrap sandbox (a confined worker's): the same", async () => {
    await probeBwrap() // throws, saying why, where bubblewrap cannot confine
    process.env.OMOI_COMMAND_SANDBOX = 'bwrap'
    expect(await runCommand(workspace, 'echo "$HOME"; pwd', 10)).toEqual({ exitCode: 0, timedOut: false, output: `${process.env.HOME}\n${workspace}\n` })
  })
})
