import { TaskReportSchema } from '../schemas/task-report.ts'
import { inspect, verdict, type Verdict } from './verdict.ts'

/**
 * The evaluator of a task's `complete_task` result (pure). It judges what the sandbox saw, not what the model says: a
 * check command must pass (or, without one, the work must change something), a task that changed nothing must say why,
 * and no file may keep conflict markers. A failing check's output goes back to the model in the feedback.
 */
export function evaluateTask(output: unknown, task: { id: string; title: string }): Verdict {
  const { data, failures } = inspect(TaskReportSchema, output)
  const hard = [...failures]
  const reason = data.no_change_reason?.trim() ?? ''
  const changed = data.files_changed.length > 0
  if (data.conflict_markers.length > 0) {
    hard.push(`conflict markers remain in ${data.conflict_markers.join(', ')}: resolve every conflict, then call complete_task again.`)
  }
  if (data.check && !data.check.passed) {
    const how = data.check.exit_code === null ? 'was stopped at its time limit' : `exited with code ${data.check.exit_code}`
    hard.push(`the check \`${data.check.command}\` ${how}; fix the cause and call complete_task again. Its output ends with:\n${data.check.output_tail}`)
  }
  if (!changed && reason === '') {
    hard.push('nothing changed in the workspace: make the change, or give no_change_reason if the task truly needs none.')
  }
  return verdict(
    [
      { weight: 0.7, pass: changed || reason !== '', fix: 'the task changed no file.' },
      {
        weight: 0.3,
        pass: data.summary.length >= 20,
        fix: `summary is ${data.summary.length} characters: say in at least 20 what you did for ${task.id} "${task.title}".`,
      },
    ],
    hard,
  )
}
