import type { TaskAssignment } from '../../schemas/assignment.ts'
import type { TaskReport } from '../../schemas/task-report.ts'
import { filesWithConflictMarkers, runCheck } from './check.ts'
import { changedFiles, commitAndPush, startCommit } from './git.ts'

/**
 * What `complete_task` does in the sandbox (CONTRACT §8): commit and push the work, then report what really happened —
 * the files git says changed since the task's start, the check command run here, and leftover conflict markers. The
 * model's input gives only its summary and, if nothing changed, the reason; any claim beyond that is dropped.
 */
export async function completeTask(root: string, task: TaskAssignment['task'], input: unknown): Promise<TaskReport> {
  const given = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>
  const base = await startCommit(root, task.base_branch)
  const commit = await commitAndPush(root, `omoi: ${task.id} ${task.title}`, task.branch)
  const files = await changedFiles(root, base, commit)
  return {
    summary: typeof given.summary === 'string' ? given.summary : '',
    ...(typeof given.no_change_reason === 'string' ? { no_change_reason: given.no_change_reason } : {}),
    branch: task.branch,
    commit,
    base_commit: base,
    files_changed: files,
    check: task.check_command ? await runCheck(root, task.check_command) : null,
    conflict_markers: await filesWithConflictMarkers(root, [...files, ...task.files]),
  }
}
