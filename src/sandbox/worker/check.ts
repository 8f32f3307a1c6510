import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CHECK_OUTPUT_CAP, CHECK_TIMEOUT_S, type CheckResult } from '../../schemas/task-report.ts'
import { runCommand } from './command.ts'

/** The last `cap` code points of `text` (never half a surrogate pair). */
export function tailCodePoints(text: string, cap: number): string {
  const points = Array.from(text)
  const tail = points.length > cap ? points.slice(-cap) : points
  // the command's own cap cut on UTF-16 units: a lone low surrogate at the start is half of a character
  if (tail.length > 0 && /^[\uDC00-\uDFFF]$/.test(tail[0]!)) tail.shift()
  return tail.join('')
}

/**
 * What a check run reports: `exitCode` null when the time limit killed it; passed = exit code 0; the output's last
 * CHECK_OUTPUT_CAP code points. Shared by the worker (task checks) and the providers (the check on the spec branch).
 */
export function checkResult(command: string, exitCode: number | null, output: string, durationMs: number): CheckResult {
  return { command, exit_code: exitCode, passed: exitCode === 0, duration_ms: durationMs, output_tail: tailCodePoints(output, CHECK_OUTPUT_CAP) }
}

/** Runs the check command in the workspace with a time limit; passed = exit code 0 within the limit. */
export async function runCheck(cwd: string, command: string, timeoutS = CHECK_TIMEOUT_S): Promise<CheckResult> {
  const started = Date.now()
  const result = await runCommand(cwd, command, timeoutS)
  return checkResult(command, result.timedOut ? null : result.exitCode, result.output, Date.now() - started)
}

const MARKER = /^(<{7}|>{7})( |$)/m

/** Which of these files (paths relative to the workspace) still hold git conflict markers; missing files hold none. */
export async function filesWithConflictMarkers(cwd: string, paths: string[]): Promise<string[]> {
  const found: string[] = []
  for (const path of [...new Set(paths)].sort()) {
    const text = await readFile(join(cwd, path), 'utf8').catch(() => '')
    if (MARKER.test(text)) found.push(path)
  }
  return found
}
