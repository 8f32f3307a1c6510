import { describe, expect, it } from 'vitest'
import { boardSpecIds, liveIndex, normalizeBoard, ticketBranches, ticketProgress } from '../../src/web/lib/tickets.ts'
import type { Task, Ticket } from '../../src/web/types.ts'

const task = (id: string, status: Task['status'], branch: string | null = null, extra: Partial<Task> = {}): Task => ({ id, title: `Task ${id}`, status, branch, ...extra })
const ticket = (id: string, extra: Partial<Ticket> = {}): Ticket => ({ id, title: `Ticket ${id}`, status: 'building', ...extra })

describe('normalizeBoard', () => {
  it('always shows the five columns in order, empty ones included', () => {
    const columns = normalizeBoard({ columns: [{ status: 'done', tickets: [ticket('t1')] }] })
    expect(columns.map((c) => c.status)).toEqual(['backlog', 'building', 'testing', 'done', 'blocked'])
    expect(columns[3]!.tickets.map((t) => t.id)).toEqual(['t1'])
  })

  it('handles no board yet', () => {
    expect(normalizeBoard(null).every((c) => c.tickets.length === 0)).toBe(true)
  })
})

describe('ticketProgress', () => {
  it('counts completed tasks', () => {
    const t = ticket('t', { tasks: [task('a', 'completed'), task('b', 'running'), task('c', 'completed'), task('d', 'pending')] })
    expect(ticketProgress(t)).toEqual({ completed: 2, total: 4 })
  })

  it('prefers counts the server sent', () => {
    expect(ticketProgress(ticket('t', { tasks_completed: 1, tasks_total: 3 }))).toEqual({ completed: 1, total: 3 })
    expect(ticketProgress(ticket('t', { task_progress: { completed: 5, total: 6 } }))).toEqual({ completed: 5, total: 6 })
  })

  it('is unknown without task information', () => {
    expect(ticketProgress(ticket('t'))).toBeNull()
  })
})

describe('ticketBranches', () => {
  it('lists each branch once, from the tasks', () => {
    const t = ticket('t', { tasks: [task('a', 'completed', 'omoi/s/a'), task('b', 'running', 'omoi/s/a'), task('c', 'pending')] })
    expect(ticketBranches(t)).toEqual(['omoi/s/a'])
  })
})

describe('boardSpecIds', () => {
  it('lists the specs on the board once each', () => {
    const columns = normalizeBoard({
      columns: [
        { status: 'building', tickets: [ticket('a', { spec_id: 's2' }), ticket('b', { spec: { id: 's1', title: 'x' } })] },
        { status: 'done', tickets: [ticket('c', { spec_id: 's2' }), ticket('d')] },
      ],
    })
    expect(boardSpecIds(columns)).toEqual(['s1', 's2'])
  })
})

describe('liveIndex', () => {
  it('finds a live task by its planner id, else by title', () => {
    const find = liveIndex([task('db1', 'running', null, { plan_id: 'TSK-001' }), task('db2', 'failed', null, { title: 'Write the exporter' })])
    expect(find({ id: 'TSK-001', title: 'anything' })?.id).toBe('db1')
    expect(find({ id: 'TSK-009', title: 'write the exporter ' })?.id).toBe('db2')
    expect(find({ id: 'TSK-404', title: 'nope' })).toBeUndefined()
  })
})
