import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, normalize } from 'node:path'
import { git } from './repo.ts'
import { tempDir } from './temp.ts'

/**
 * A project repository served over git's "dumb" HTTP protocol (static files of a bare repository), read-only, with a
 * hold on clones: `holdClone()` parks the next clone at its first request until released. That keeps a sandbox in
 * status `starting` (its working copy being cloned) for as long as a test needs. Tasks cannot push to it: use it for
 * planning phases only.
 */
export interface GitGate {
  /** The repo_url to give a project. */
  url: string
  /** Clones started so far. */
  clones: number
  /** Parks the clone after the next `skip` ones until `release()`. */
  holdClone(skip?: number): { first(): Promise<void>; release(): void }
  close(): Promise<void>
}

export async function startGitGate(workTree: string): Promise<GitGate> {
  const bare = join(await tempDir('gate'), 'repo.git')
  await git(workTree, 'clone', '-q', '--bare', workTree, bare)
  await git(bare, 'update-server-info')
  let clones = 0
  const holds: { at: number; arrived: () => void; open: Promise<void>; release: () => void }[] = []

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/repo.git/info/refs') {
      const n = ++clones
      const hold = holds.find((h) => h.at === n)
      if (hold) {
        hold.arrived()
        await hold.open
      }
    }
    const rel = normalize(decodeURIComponent(url.pathname.replace(/^\/repo\.git\/?/, '')))
    const path = join(bare, rel)
    if (rel.startsWith('..') || !(await stat(path).then((s) => s.isFile(), () => false))) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    createReadStream(path).pipe(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const gate: GitGate = {
    url: `http://127.0.0.1:${port}/repo.git`,
    get clones() {
      return clones
    },
    holdClone(skip = 0) {
      let arrived!: () => void
      let open!: () => void
      const first = new Promise<void>((resolve) => (arrived = resolve))
      const hold = { at: clones + skip + 1, arrived, open: new Promise<void>((resolve) => (open = resolve)), release: () => open() }
      holds.push(hold)
      return { first: () => first, release: hold.release }
    },
    close: () =>
      new Promise((resolve) => {
        for (const h of holds) h.release()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  return gate
}
