import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { tempDir } from './temp.ts'

const exec = promisify(execFile)

export const git = async (cwd: string, ...args: string[]) =>
  (await exec('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd })).stdout.trim()

/** A small git repository on branch main with a README and one source file: a project to run specs on (removed after the file's tests). */
export async function makeRepo(): Promise<string> {
  const dir = await tempDir('repo')
  await git(dir, 'init', '-q', '-b', 'main')
  await writeFile(join(dir, 'README.md'), '# Shop\n\nA tiny shop.\n')
  await writeFile(join(dir, 'index.js'), 'export const hello = () => "hello"\n')
  await git(dir, 'add', '-A')
  await git(dir, 'commit', '-q', '-m', 'initial')
  return dir
}
