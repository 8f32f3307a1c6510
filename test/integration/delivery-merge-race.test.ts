import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { freshClone, mergeAndPush } from '../../src/actors/delivery-git.ts'
import { git, makeRepo } from '../support/repo.ts'
import { tempDir } from '../support/temp.ts'

/**
 * After a takeover, the node that ran the spec before may still be finishing the merge it started: both merge the same
 * task into the spec branch at once (issue 12's chaos test found it). git's push is a compare-and-swap on the branch;
 * the loser must redo its merge on what the branch holds now instead of failing the task.
 */
describe('merging a task while another node pushes the same merge', () => {
  it('redoes the merge on the branch as it now stands: the task is merged once and nothing fails', async () => {
    const repo = await makeRepo()
    await git(repo, 'branch', 'omoi/spec')
    await git(repo, 'checkout', '-q', '-b', 'omoi/task', 'main')
    await writeFile(join(repo, 'task.txt'), 'the task’s work\n')
    await git(repo, 'add', '-A')
    await git(repo, 'commit', '-q', '-m', 'task work')
    const taskCommit = await git(repo, 'rev-parse', 'HEAD')
    await git(repo, 'checkout', '-q', 'main')

    // the other node: its own working copy, which merges the task and pushes when this node is about to push
    const other = join(await tempDir('other'), 'wc')
    await freshClone(other, repo)
    await git(other, 'checkout', '-q', '-B', 'omoi/spec', 'refs/remotes/origin/omoi/spec')
    await git(other, 'merge', '-q', '--no-ff', '--no-edit', '-m', 'merge by the other node', taskCommit)

    const dir = join(await tempDir('delivery'), 'wc')
    await freshClone(dir, repo)
    // a hook of the working copy's repository: omoi's git runs those (only a user's global hooks are off)
    const raced = join(dir, '.git', 'raced')
    await mkdir(join(dir, '.git', 'hooks'), { recursive: true }) // omoi's clones get no template, so no hooks directory
    await writeFile(
      join(dir, '.git', 'hooks', 'pre-push'),
      `#!/bin/sh\n[ -e ${raced} ] && exit 0\ntouch ${raced}\ngit -C ${other} push -q origin HEAD:refs/heads/omoi/spec\n`,
    )
    await chmod(join(dir, '.git', 'hooks', 'pre-push'), 0o755)

    const outcome = await mergeAndPush(dir, repo, { branch: 'omoi/spec', commit: taskCommit, message: 'merge by this node' })

    const head = await git(repo, 'rev-parse', 'omoi/spec')
    expect(outcome).toEqual({ merged: true, commit: head })
    expect(await git(repo, 'log', '--format=%s', '--merges', 'omoi/spec')).toBe('merge by the other node')
    expect(await git(repo, 'show', 'omoi/spec:task.txt')).toBe('the task’s work')
  })
})
