/** Bundles the sandbox worker into one file that plain Node runs: `npm run build:worker`. */
import { build } from 'esbuild'
import { mkdir, readdir, rename, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const ENTRY = join(ROOT, 'src/sandbox/worker/main.ts')
const OUTPUT = join(ROOT, 'dist/worker/worker.mjs')
const SOURCES = [join(ROOT, 'src/sandbox/worker'), join(ROOT, 'src/schemas')]
// Bundled CommonJS dependencies call require(); an ES module has none unless we make one.
const BANNER = "import { createRequire as __omoiCreateRequire } from 'node:module'; const require = __omoiCreateRequire(import.meta.url);"

async function newestSource(dir: string): Promise<number> {
  let newest = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs)
  }
  return newest
}

async function isFresh(): Promise<boolean> {
  const built = await stat(OUTPUT).then((s) => s.mtimeMs, () => 0)
  const sources = await Promise.all(SOURCES.map(newestSource))
  return built > Math.max(...sources)
}

/** Builds dist/worker/worker.mjs unless it is newer than every worker and schema source; answers its path. */
export async function buildWorker(): Promise<string> {
  if (await isFresh()) return OUTPUT
  await mkdir(dirname(OUTPUT), { recursive: true })
  // Built beside and renamed into place, so a concurrent build or a starting worker never sees half a file.
  const temporary = `${OUTPUT}.${process.pid}.tmp`
  await build({
    entryPoints: [ENTRY],
    outfile: temporary,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: BANNER },
    logLevel: 'warning',
  })
  await rename(temporary, OUTPUT)
  return OUTPUT
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildWorker().then(
    (path) => process.stdout.write(`${path}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
      process.exit(1)
    },
  )
}
