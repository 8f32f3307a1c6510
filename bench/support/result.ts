import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

/** What one benchmark hands back: its figure, the baseline measured in the same run, and their ratio. */
export interface BenchResult {
  name: string
  /** The measured figure, with its unit. */
  figure: string
  /** The baseline measured in the same run, with its unit and what it is. */
  baseline: string
  /** figure ÷ baseline (how the ratio reads is in `ratioLabel`). */
  ratio: number
  ratioLabel: string
  /** The DESIGN §7 budget, when there is one. Informational: a benchmark never fails on a number. */
  budget?: { text: string; met: boolean }
  /** Further figures worth reading (second configurations, memory, caveats). */
  notes: string[]
}

export type Bench = () => Promise<BenchResult>

/** Prints one benchmark's result as a short block. */
export function printResult(r: BenchResult): void {
  const lines = [
    `── ${r.name} ──`,
    `  figure:   ${r.figure}`,
    `  baseline: ${r.baseline}`,
    `  ratio:    ${r.ratioLabel}`,
    ...(r.budget ? [`  budget:   ${r.budget.text} → ${r.budget.met ? 'met' : 'NOT met'}`] : []),
    ...r.notes.map((n) => `  · ${n}`),
  ]
  process.stdout.write(lines.join('\n') + '\n')
}

/**
 * Runs `bench` when its file is the entry point (`node --import tsx bench/ingest.ts`), prints the result, and writes it
 * as JSON to BENCH_RESULT_FILE when bench/run.ts asked for it. Exits non-zero only when the benchmark itself broke.
 */
export function runIfMain(moduleUrl: string, bench: Bench): void {
  const entry = process.argv[1]
  if (!entry || pathToFileURL(entry).href !== moduleUrl) return
  bench().then(
    (result) => {
      printResult(result)
      if (process.env.BENCH_RESULT_FILE) writeFileSync(process.env.BENCH_RESULT_FILE, JSON.stringify(result))
      process.exit(0)
    },
    (err) => {
      process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
      process.exit(1)
    },
  )
}

/** Progress lines go to stderr so stdout stays the result. */
export const progress = (msg: string) => process.stderr.write(`  … ${msg}\n`)
