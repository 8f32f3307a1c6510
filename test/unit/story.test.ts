import { describe, expect, it } from 'vitest'
import { storyLine } from '../../src/actors/story.ts'

describe('storyLine', () => {
  it.each([
    [{ type: 'spec.execution_started', data: {} }, { msg: 'spec launched', fields: {} }],
    [{ type: 'spec.phase_started', data: { phase: 'design', attempt: 2, sandbox_id: 'sbx_1' } }, { msg: 'phase started', fields: { phase: 'design', attempt: 2, sandbox_id: 'sbx_1' } }],
    [{ type: 'spec.phase_completed', data: { phase: 'design', attempt: 1, eval_score: 0.9, duration_ms: 12 } }, { msg: 'phase accepted', fields: { phase: 'design', attempt: 1, duration_ms: 12, score: 0.9 } }],
    [{ type: 'spec.phase_retry', data: { phase: 'tasks', attempt: 1, submission: 1, eval_score: 0.4, feedback: 'no tests' } }, { msg: 'phase rejected', fields: { phase: 'tasks', attempt: 1, submission: 1, feedback: 'no tests', score: 0.4 } }],
    [{ type: 'spec.awaiting_approval', data: { phase: 'requirements' } }, { msg: 'awaiting approval', fields: { phase: 'requirements' } }],
    [{ type: 'spec.approved', data: { phase: 'requirements', by: 'usr_1' } }, { msg: 'approved', fields: { phase: 'requirements', by: 'usr_1' } }],
    [{ type: 'spec.task_failed', data: { task_id: 'TSK-002', attempt: 3, error: 'tests fail', will_retry: false } }, { msg: 'task failed', fields: { task_id: 'TSK-002', attempt: 3, error: 'tests fail', will_retry: false } }],
    [{ type: 'spec.execution_failed', data: { phase: 'sync', error: 'cycle' } }, { msg: 'spec failed', fields: { phase: 'sync', error: 'cycle' } }],
    [{ type: 'spec.cancelled', data: { by: 'usr_1' } }, { msg: 'spec cancelled', fields: { by: 'usr_1' } }],
    [{ type: 'spec.execution_completed', data: {} }, { msg: 'spec completed', fields: {} }],
  ])('%o is told as %o', (event, line) => {
    expect(storyLine(event)).toEqual(line)
  })

  it('leaves agent chatter out', () => {
    for (const type of ['agent.heartbeat', 'agent.tool_use', 'agent.usage', 'user.message']) expect(storyLine({ type, data: {} })).toBeNull()
  })
})
