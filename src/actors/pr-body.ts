import type { Requirements } from '../schemas/phase-outputs.ts'
import type { CheckResult } from '../schemas/task-report.ts'

/**
 * The pull request's description, from the spec's artifacts (pure): the requirements with their acceptance criteria as
 * a checklist, the tasks, and the check the server ran on the branch.
 */
export function pullRequestBody(input: {
  description: string
  requirements: Requirements | null
  tasks: { key: string; title: string }[]
  check: CheckResult | null
}): string {
  const lines = [input.description.trim(), '']
  const reqs = input.requirements?.requirements ?? []
  if (reqs.length > 0) {
    lines.push('## Requirements', '')
    for (const r of reqs) {
      lines.push(`### ${r.id} ${r.title}`, '', r.ears, '')
      for (const c of r.acceptance_criteria) lines.push(`- [ ] ${c}`)
      lines.push('')
    }
  }
  if (input.tasks.length > 0) {
    lines.push('## Tasks', '')
    for (const t of input.tasks) lines.push(`- ${t.key} ${t.title}`)
    lines.push('')
  }
  lines.push('## Check', '')
  if (!input.check) lines.push('No check command is set for this project.')
  else {
    const verdict = input.check.passed ? 'passed' : `failed (exit code ${input.check.exit_code})`
    lines.push(`\`${input.check.command}\` ${verdict} in ${(input.check.duration_ms / 1000).toFixed(1)} s on the spec branch.`)
  }
  lines.push('', '_Opened by omoi._')
  return lines.join('\n')
}
