import { describe, expect, it } from 'vitest'
import { coverageRows, uncoveredCriteria } from '../../src/web/lib/coverage.ts'

describe('coverageRows: the Sync tab reads the coverage SYNC stores', () => {
  it('reads the list with criteria (REQ-n.m) and the uncovered criteria', () => {
    const sync = {
      coverage: [
        {
          requirement: 'REQ-001',
          title: 'Due dates',
          tasks: ['TSK-001'],
          criteria: [
            { id: 'REQ-001.1', text: 'accepts a date', tasks: ['TSK-001'] },
            { id: 'REQ-001.2', text: 'rejects the past', tasks: [] },
          ],
        },
      ],
      uncovered_criteria: ['REQ-001.2'],
      order: ['TSK-001'],
    }
    const rows = coverageRows(sync)!
    expect(rows).toEqual([
      {
        requirement: 'REQ-001',
        title: 'Due dates',
        tasks: ['TSK-001'],
        criteria: [
          { id: 'REQ-001.1', text: 'accepts a date', tasks: ['TSK-001'] },
          { id: 'REQ-001.2', text: 'rejects the past', tasks: [] },
        ],
      },
    ])
    expect(uncoveredCriteria(sync, rows)).toEqual(['REQ-001.2'])
  })

  it('tolerates the older list without criteria (what the server stores today)', () => {
    const rows = coverageRows({ coverage: [{ requirement: 'REQ-001', title: 'Due dates', tasks: ['TSK-001', 'TSK-002'] }] })
    expect(rows).toEqual([{ requirement: 'REQ-001', title: 'Due dates', tasks: ['TSK-001', 'TSK-002'], criteria: [] }])
  })

  it('tolerates the map shape, and answers null when there is no coverage', () => {
    expect(coverageRows({ coverage: { 'REQ-001': ['TSK-001'] } })).toEqual([{ requirement: 'REQ-001', title: '', tasks: ['TSK-001'], criteria: [] }])
    expect(coverageRows({ order: [] })).toBeNull()
    expect(coverageRows(null)).toBeNull()
  })
})
