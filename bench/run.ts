import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchResult } from './support/result.ts'

/**
 * Runs the benchmarks (DESIGN §7), each in its own process (a clean heap, global.gc exposed), one after the other,
 * and prints a summary table: `npm run bench` for all, `npm run bench -- ingest` (or several names) for some.
 * A benchmark reports numbers and never fails on them; the exit code is non-zero only when one could not run.
 */

const BENCHES = ['ingest', 'restore', 'fanout', 'takeover', 'agent-cost'] as const
type Name = (typeof BENCHES)[number]
/** Stops a hung bench only: each takes a few minutes at most (fanout measures two sizes), more on a loaded machine. */
const HARD_LIMIT_MS = 900_000

function runOne(name: Name, resultFile: string): Promise<{ result: BenchResult | null; error: string | null; seconds: number }> {
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url))
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', script], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, BENCH_RESULT_FILE: resultFile },
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), HARD_LIMIT_MS)
    child.on('exit', async (code, signal) => {
      clearTimeout(timer)
      const seconds = (performance.now() - started) / 1000
      if (code !== 0) return resolve({ result: null, error: signal ? `killed (${signal})` : `exited with ${code}`, seconds })
      try {
        resolve({ result: JSON.parse(await readFile(resultFile, 'utf8')) as BenchResult, error: null, seconds })
      } catch (err) {
        resolve({ result: null, error: `no result: ${String(err)}`, seconds })
      }
    })
  })
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  const fmtRow = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c]!)).join(' │ ')
  const rule = widths.map((w) => '─'.repeat(w)).join('─┼─')
  return [fmtRow(rows[0]!), rule, ...rows.slice(1).map(fmtRow)].join('\n')
}

async function main(): Promise<number> {
  const asked = process.argv.slice(2)
  const unknown = asked.filter((a) => !(BENCHES as readonly string[]).includes(a))
  if (unknown.length) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')}; there are: ${BENCHES.join(', ')}\n`)
    return 2
  }
  const names = (asked.length ? asked : BENCHES) as Name[]
  const dir = await mkdtemp(join(tmpdir(), 'omoi-bench-results-'))
  const rows: string[][] = [['bench', 'figure', 'baseline (same run)', 'ratio', 'budget', 'time']]
  let failed = 0
  process.stdout.write(`omoi benchmarks — ${new Date().toISOString()} — ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at the start\n\n`)
  try {
    for (const name of names) {
      process.stdout.write(`▶ ${name}\n`)
      const { result, error, seconds } = await runOne(name, join(dir, `${name}.json`))
      process.stdout.write('\n')
      if (!result) {
        failed++
        rows.push([name, `did not run: ${error}`, '', '', '', `${seconds.toFixed(0)} s`])
        continue
      }
      rows.push([
        name,
        result.figure,
        result.baseline,
        result.ratioLabel,
        result.budget ? (result.budget.met ? 'met' : 'NOT met') : '—',
        `${seconds.toFixed(0)} s`,
      ])
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  process.stdout.write(`summary (load average ${loadavg()[0]!.toFixed(2)} at the end)\n${table(rows)}\n`)
  return failed ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
    process.exit(1)
  },
)
