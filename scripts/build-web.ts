/**
 * Builds the browser UI: esbuild bundles src/web/main.tsx into dist/web/app.js, and index.html and styles.css are
 * copied next to it (index.html with a content hash on the asset URLs, so a browser never mixes an old bundle with new
 * HTML). Skips the work when every output is newer than every input.
 *
 *   node --import tsx scripts/build-web.ts
 */
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const SRC = join(ROOT, 'src', 'web')
const OUT = join(ROOT, 'dist', 'web')
/** What a browser loads. */
const OUTPUTS = ['app.js', 'index.html', 'styles.css']

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

async function mtime(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs
  } catch {
    return null
  }
}

/** Inputs: everything in src/web, the shared types it imports, this script, and the lockfile (library upgrades). */
async function newestInput(): Promise<number> {
  const inputs = [
    ...(await filesUnder(SRC)),
    ...(await filesUnder(join(ROOT, 'src', 'schemas'))),
    fileURLToPath(import.meta.url),
    join(ROOT, 'package-lock.json'),
  ]
  const times = await Promise.all(inputs.map(mtime))
  return Math.max(0, ...times.map((t) => t ?? 0))
}

async function isFresh(): Promise<boolean> {
  const outs = await Promise.all(OUTPUTS.map((f) => mtime(join(OUT, f))))
  if (outs.some((t) => t === null)) return false
  return Math.min(...(outs as number[])) > (await newestInput())
}

const hash = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex').slice(0, 10)

let running: Promise<string> | null = null

/**
 * Builds the UI into dist/web unless it is already up to date, and returns that directory. Safe to call from several
 * processes at once: each builds into its own temporary directory and moves finished files into place.
 */
export function buildWeb(): Promise<string> {
  running ??= (async () => {
    if (await isFresh()) return OUT
    await mkdir(join(ROOT, 'dist'), { recursive: true })
    const tmp = await mkdtemp(join(ROOT, 'dist', '.web-'))
    try {
      await build({
        entryPoints: [join(SRC, 'main.tsx')],
        outfile: join(tmp, 'app.js'),
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
        jsx: 'automatic',
        jsxImportSource: 'preact',
        minify: true,
        sourcemap: false, // no public source map: the bundle is what production serves
        legalComments: 'linked',
        define: { 'process.env.NODE_ENV': '"production"' },
        logLevel: 'warning',
        absWorkingDir: ROOT,
      })
      const [js, ownCss, diffCss, html] = await Promise.all([
        readFile(join(tmp, 'app.js')),
        readFile(join(SRC, 'styles.css'), 'utf8'),
        readFile(join(ROOT, 'node_modules', 'diff2html', 'bundles', 'css', 'diff2html.min.css'), 'utf8'),
        readFile(join(SRC, 'index.html'), 'utf8'),
      ])
      // The diff viewer's own styles first, so ours can adjust them.
      const css = `${diffCss}\n${ownCss}`
      await writeFile(join(tmp, 'styles.css'), css)
      await writeFile(
        join(tmp, 'index.html'),
        html.replace('"/app.js"', `"/app.js?v=${hash(js)}"`).replace('"/styles.css"', `"/styles.css?v=${hash(css)}"`),
      )
      await mkdir(OUT, { recursive: true })
      await rm(join(OUT, 'app.js.map'), { force: true }) // left by builds that still wrote one
      // index.html last: it names the assets, so it must not point at files that are not there yet.
      const produced = (await readdir(tmp)).sort((a, b) => Number(a === 'index.html') - Number(b === 'index.html'))
      for (const f of produced) await rename(join(tmp, f), join(OUT, f))
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
    return OUT
  })().finally(() => (running = null))
  return running
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const started = performance.now()
  buildWeb().then(
    (dir) => process.stdout.write(`web UI in ${dir} (${Math.round(performance.now() - started)} ms)\n`),
    (err: unknown) => {
      process.stderr.write(`web build failed: ${err instanceof Error ? err.message : String(err)}\n`)
      process.exitCode = 1
    },
  )
}
