import type { Sql } from '../db/connect.ts'
import { findProject } from '../db/projects.ts'
import { findSpec } from '../db/specs.ts'
import { ensureProjectRepo } from '../sandbox/local.ts'
import type { SandboxSpec } from '../sandbox/provider.ts'
import type { RunnerInput } from './machine-types.ts'

/** The branch a task works on: `omoi/<spec short id>/<task key>`. */
export const taskBranch = (specId: string, taskKey: string) => `omoi/${specId.slice(-10)}/${taskKey}`

/** The branch that gathers every task's work: `omoi/<spec short id>/spec` (beside the task branches, not above them). */
export const specBranch = (specId: string) => `omoi/${specId.slice(-10)}/spec`

/** Where a conflicted merge of a task is handed to its fix-up run. */
export const mergeBranch = (specId: string, taskKey: string, fixup: number) => `omoi/${specId.slice(-10)}/${taskKey}-merge-${fixup}`

/**
 * Which repository a sandbox starts from: the project's `repo_url`, or (none given) a repository omoi keeps for the
 * project under OMOI_DATA_DIR. A task branches from the spec branch (its fix-up run from the merge branch).
 */
export async function resolveRepo(sql: Sql, dataDir: string, input: RunnerInput): Promise<SandboxSpec['repo']> {
  const spec = await findSpec(sql, input.specId)
  const project = spec?.project_id ? await findProject(sql, spec.project_id) : null
  if (!spec || !project) throw new Error('the spec has no project, so there is no repository to work on')
  const url = project.repo_url ?? (await ensureProjectRepo(dataDir, project.id, project.default_branch))
  if (input.kind === 'phase') {
    return {
      url,
      baseBranch: project.default_branch,
      workBranch: `omoi/${spec.id.slice(-10)}/${input.phase}-${input.attempt}`,
      mergeBranches: [],
    }
  }
  return {
    url,
    baseBranch: input.baseBranch ?? project.default_branch,
    workBranch: taskBranch(spec.id, input.task),
    mergeBranches: [],
  }
}

/**
 * The whole environment of a sandbox (CONTRACT §7): nothing else of the server's is passed. The model settings are
 * the model name and the server's model proxy; the sandbox token is the proxy's key.
 */
export function sandboxEnv(
  env: { callbackUrl: string; model: { name: string }; gitToken?: string },
  sandboxId: string,
  token: string,
  input: RunnerInput,
): Record<string, string> {
  return {
    OMOI_SANDBOX_ID: sandboxId,
    OMOI_SANDBOX_TOKEN: token,
    OMOI_CALLBACK_URL: env.callbackUrl,
    SPEC_ID: input.specId,
    ...(input.kind === 'phase' ? { SPEC_PHASE: input.phase } : { TASK_ID: input.task }),
    // the model is reached through the server, which adds its key: the key never enters the sandbox
    ANTHROPIC_BASE_URL: `${env.callbackUrl}/sandboxes/${sandboxId}/model`,
    OMOI_MODEL: env.model.name,
    ...(env.gitToken && input.kind === 'task' ? { OMOI_GIT_TOKEN: env.gitToken } : {}),
  }
}
