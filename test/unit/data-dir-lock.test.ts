import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { lockDataDir, lockHolder } from '../../src/db/data-dir-lock.ts'

/** The embedded database's lock is held by the process and freed by its death (issue 11, case 10). */

const dirs: string[] = []
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'omoi-lock-'))
  dirs.push(dir)
  return dir
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

describe('the embedded data directory lock', () => {
  it('refuses a second holder, naming the first one pid, and is free again once released', async () => {
    const dir = await tempDir()
    const release = await lockDataDir(dir)
    await expect(lockDataDir(dir)).rejects.toThrow(`is in use by process ${process.pid}`)
    expect(await lockHolder(dir)).toBe(String(process.pid))
    await release()
    expect(await lockHolder(dir)).toBeNull()
    await (await lockDataDir(dir))()
  })

  it('is not blocked by an old lock file holding the pid of a live process', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'omoi.lock'), String(process.ppid))
    const release = await lockDataDir(dir)
    await release()
  })

  it('is freed when its holder is killed with SIGKILL', async () => {
    const dir = await tempDir()
    const script = `import('${join(process.cwd(), 'src/db/data-dir-lock.ts')}').then(async (m) => { await m.lockDataDir(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000) })`
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve) => child.stdout!.on('data', (d) => String(d).includes('locked') && resolve()))
    await expect(lockDataDir(dir)).rejects.toThrow(`is in use by process ${child.pid}`)
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    await (await lockDataDir(dir))()
  })
})
