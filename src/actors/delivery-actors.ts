import { join, resolve } from 'node:path'
import { fromCallback, fromPromise } from 'xstate'
import type { Sql } from '../db/connect.ts'
import { fencedWrite, type Fence } from '../db/actors.ts'
import { loadArtifacts } from '../db/artifacts.ts'
import { findProject } from '../db/projects.ts'
import { findSpec, updateDelivery, type StoredDelivery } from '../db/specs.ts'
import { errorMessage } from '../errors.ts'
import { logger } from '../log.ts'
import { ensureProjectRepo } from '../sandbox/local.ts'
import type { SandboxProvider } from '../sandbox/provider.ts'
import type { Requirements } from '../schemas/phase-outputs.ts'
import { taskTitlesOfSpec } from '../db/tickets.ts'
import { runCheckSandbox } from './check-sandbox.ts'
import { freshClone, git, mergeAndPush, remoteHead } from './delivery-git.ts'
import { openPullRequest, repoCoordinates, type ForgeConfig } from './forge.ts'
import type { IntegrateInput, IntegrateOutput, MergeInput, PrepareInput, PublishOutput, SpecEvent } from './machine-types.ts'
import { pullRequestBody } from './pr-body.ts'
import { diffSummary, mirrorPath, syncMirror } from './repo-mirror.ts'
import { mergeBranch, specBranch } from './sandbox-setup.ts'
import type { PrepareOutput } from './spec-setup.ts'

const log = logger('omoi:delivery')

export interface DeliveryDeps {
  sql: Sql
  dataDir: string
  /** Where the check on the spec branch runs: a sandbox of kind `check` (src/actors/check-sandbox.ts). */
  provider: SandboxProvider
  /** OMOI_GIT_TOKEN, for a private remote. */
  gitToken?: string
  forge?: ForgeConfig
  /**
   * This node's lease on the spec (DESIGN §4), read when a step starts: the step's writes (the spec row's delivery, check
   * sandbox rows) are fenced with it, so a step of a copy that lost the spec changes nothing.
   */
  fence: (specId: string) => Fence | null
}

/** One spec's working copy for merges and for reading the spec branch: steps on it run one at a time. */
const busy = new Map<string, Promise<unknown>>()
function exclusive<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const run = (busy.get(dir) ?? Promise.resolve()).catch(() => {}).then(work)
  busy.set(dir, run)
  void run.finally(() => busy.get(dir) === run && busy.delete(dir)).catch(() => {})
  return run
}

/**
 * The delivery effects the spec machine names (DESIGN §2.5, §3): each looks before it acts, so a step repeated after a
 * restart changes nothing twice — the spec branch is created once, a merged commit is not merged again, a pull request
 * is opened once.
 */
export function createDeliveryActors(deps: DeliveryDeps) {
  const workDir = (specId: string) => join(resolve(deps.dataDir), 'delivery', specId)
  // a node that lost the spec to another (a takeover) leaves its delivery alone: it throws FencedError instead
  const deliver = (fence: Fence | null, specId: string, patch: Partial<StoredDelivery>, checkCommand?: string | null) =>
    fencedWrite(deps.sql, specId, fence, (tx) => updateDelivery(tx, specId, patch, checkCommand))

  async function locate(specId: string) {
    const spec = await findSpec(deps.sql, specId)
    const project = spec?.project_id ? await findProject(deps.sql, spec.project_id) : null
    if (!spec || !project) throw new Error('the spec has no project, so there is no repository to deliver to')
    const url = project.repo_url ?? (await ensureProjectRepo(deps.dataDir, project.id, project.default_branch))
    return { spec, project, url }
  }

  /** Fetches the mirror and stores the spec branch's size against its base. */
  async function refreshStats(fence: Fence | null, specId: string, projectId: string, url: string, baseCommit: string, commit: string) {
    await syncMirror(deps.dataDir, projectId, url, deps.gitToken)
    const diff = await diffSummary(mirrorPath(deps.dataDir, projectId), baseCommit, commit)
    await deliver(fence, specId, { commit, files_changed: diff.files.length, insertions: diff.insertions, deletions: diff.deletions })
  }

  const deliveryPrepare = fromPromise<PrepareOutput, PrepareInput>(async ({ input }) => {
    const fence = deps.fence(input.specId)
    const { spec, project, url } = await locate(input.specId)
    const dir = workDir(spec.id)
    const branch = specBranch(spec.id)
    return exclusive(dir, async () => {
      await freshClone(dir, url, deps.gitToken)
      const baseHead = await remoteHead(dir, project.default_branch)
      if (!baseHead) throw new Error(`the repository has no branch ${project.default_branch}`)
      let commit = await remoteHead(dir, branch)
      if (!commit) {
        // a node that ran the spec before a takeover may create it at the same moment: then its branch is the one
        commit = await git(dir, ['push', '-q', 'origin', `${baseHead}:refs/heads/${branch}`], { token: deps.gitToken }).then(
          () => baseHead,
          async (err: unknown) => {
            await freshClone(dir, url, deps.gitToken)
            const made = await remoteHead(dir, branch)
            if (!made) throw err
            return made
          },
        )
      }
      const baseCommit = spec.delivery?.base_commit ?? (await git(dir, ['merge-base', baseHead, commit]))
      const checkCommand = project.check_command ?? input.exploredCheck ?? null
      // the diff route answers from the mirror as soon as the spec shows its branch
      await syncMirror(deps.dataDir, project.id, url, deps.gitToken)
      await deliver(
        fence,
        spec.id,
        { branch, base: project.default_branch, base_commit: baseCommit, commit, check: null, pull_request: null, files_changed: 0, insertions: 0, deletions: 0 },
        checkCommand,
      )
      await refreshStats(fence, spec.id, project.id, url, baseCommit, commit)
      return { branch, base: project.default_branch, baseCommit, commit, checkCommand }
    })
  })

  const taskMerger = fromCallback<SpecEvent, MergeInput>(({ input, sendBack }) => {
    const fence = deps.fence(input.specId)
    let stopped = false
    const key = { task: input.task, attempt: input.attempt, fixup: input.fixup }
    void (async () => {
      const { spec, project, url } = await locate(input.specId)
      const dir = workDir(spec.id)
      return exclusive(dir, async () => {
        const message = `omoi: merge ${input.task} ${input.title}`
        const outcome = await mergeAndPush(dir, url, { branch: input.specBranch, commit: input.commit, message, token: deps.gitToken })
        if (!outcome.merged) {
          const branch = mergeBranch(spec.id, input.task, input.fixup + 1)
          await git(dir, ['push', '-q', '-f', 'origin', `${outcome.conflictCommit}:refs/heads/${branch}`], { token: deps.gitToken })
          return { type: 'TASK_MERGE_CONFLICT' as const, ...key, files: outcome.files, mergeBranch: branch }
        }
        await refreshStats(fence, spec.id, project.id, url, spec.delivery?.base_commit ?? outcome.commit, outcome.commit)
        return { type: 'TASK_MERGED' as const, ...key, commit: outcome.commit }
      })
    })().then(
      (event) => !stopped && sendBack(event),
      (err: unknown) => {
        log.warn('merge failed', { spec_id: input.specId, task: input.task, err })
        if (!stopped) sendBack({ type: 'TASK_MERGE_ERROR', ...key, error: errorMessage(err) })
      },
    )
    return () => {
      stopped = true
    }
  })

  const integrator = fromPromise<IntegrateOutput, IntegrateInput>(async ({ input, signal }) => {
    const fence = deps.fence(input.specId)
    const { spec, url } = await locate(input.specId)
    const dir = workDir(spec.id)
    const commit = await exclusive(dir, async () => {
      await freshClone(dir, url, deps.gitToken)
      const head = await remoteHead(dir, input.branch)
      if (!head) throw new Error(`the repository has no branch ${input.branch}`)
      return head
    })
    const ran = input.checkCommand
      ? await runCheckSandbox(
          { sql: deps.sql, provider: deps.provider, fence },
          { specId: spec.id, round: input.round ?? 1, url, branch: input.branch, commit, command: input.checkCommand },
          signal,
        )
      : null
    const check = ran?.check ?? null
    await deliver(fence, spec.id, {
      commit,
      check: check ? { command: check.command, passed: check.passed, duration_ms: check.duration_ms } : null,
    })
    return { commit, check, sandboxId: ran?.sandboxId ?? null }
  })

  const publisher = fromPromise<PublishOutput, { specId: string }>(async ({ input }) => {
    const fence = deps.fence(input.specId)
    const { spec, project, url } = await locate(input.specId)
    const d = spec.delivery
    if (!d) throw new Error('the spec branch was never made')
    await refreshStats(fence, spec.id, project.id, url, d.base_commit, d.commit)
    if (!deps.forge) return { pullRequest: null }
    const where = repoCoordinates(url)
    if (!where) throw new Error(`cannot tell the owner and name of the repository ${url}`)
    const artifacts = await loadArtifacts(deps.sql, spec.id)
    const pr = await openPullRequest(deps.forge, {
      ...where,
      head: d.branch,
      base: d.base,
      title: spec.title,
      body: pullRequestBody({
        description: spec.description,
        requirements: artifacts.requirements as Requirements | null,
        tasks: await taskTitlesOfSpec(deps.sql, spec.id),
        check: d.check ? { ...d.check, exit_code: d.check.passed ? 0 : null, output_tail: '' } : null,
      }),
    })
    await deliver(fence, spec.id, { pull_request: pr })
    return { pullRequest: pr }
  })

  return { deliveryPrepare, taskMerger, integrator, publisher }
}
