import type { CompleteTask, Design, Exploration, Requirements, Tasks } from '../../src/schemas/phase-outputs.ts'
import type { TaskReport } from '../../src/schemas/task-report.ts'

/**
 * Phase outputs that every evaluator accepts with a score of 1. Deep-frozen so a test that mutates one fails loudly
 * instead of leaking into other tests: derive variants with `structuredClone(goodTasks)` or spreads.
 */

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

export const goodExploration: Exploration = deepFreeze({
  summary: 'A Hono + PostgreSQL todo service; the change adds due dates and reminders to todo items.',
  tech_stack: ['TypeScript', 'Node 20', 'Hono', 'PostgreSQL', 'vitest'],
  key_files: [
    { path: 'src/todos/routes.ts', purpose: 'REST handlers for todo items' },
    { path: 'sql/001_init.sql', purpose: 'database schema' },
  ],
  conventions: ['ESM with .ts imports', 'valibot schemas for every request body', 'tests next to the feature in test/'],
  open_questions: ['Should reminders be sent by email or only shown in the UI?'],
  scope_in: ['due dates on todo items', 'a reminder before the due date'],
  scope_out: ['recurring todos', 'calendar integrations'],
})

export const goodRequirements: Requirements = deepFreeze({
  requirements: [
    {
      id: 'REQ-001',
      title: 'Set a due date on a todo',
      ears: 'WHEN a user saves a todo with a due date, THE todo service SHALL store the due date with the todo.',
      priority: 'must',
      acceptance_criteria: ['PATCH /todos/:id with due_at returns the todo with due_at', 'GET /todos/:id returns the stored due_at'],
    },
    {
      id: 'REQ-002',
      title: 'Reject due dates in the past',
      ears: 'IF a due date lies in the past, THEN THE todo service SHALL reject the request with a 400.',
      priority: 'should',
      acceptance_criteria: ['a due_at before now answers 400 invalid_body', 'the todo is left unchanged'],
    },
    {
      id: 'REQ-003',
      title: 'Remind before the due date',
      ears: 'WHILE a todo is open and due within one hour, THE reminder job SHALL notify its owner once.',
      priority: 'could',
      acceptance_criteria: ['an open todo due in 30 minutes produces one reminder', 'a completed todo produces none'],
    },
  ],
})

export const goodDesign: Design = deepFreeze({
  overview:
    'Add a nullable `due_at` column to todos, validate it in the PATCH handler, and run a small reminder job every minute ' +
    'that selects open todos due within the hour and records a reminder so each todo is reminded once.',
  components: [
    { name: 'todo routes', responsibility: 'accept and validate due_at', files: ['src/todos/routes.ts'] },
    { name: 'reminder job', responsibility: 'find due todos and notify owners once', files: ['src/reminders/job.ts'] },
  ],
  data_models: [{ name: 'todo', fields: ['id', 'title', 'due_at timestamptz null', 'reminded_at timestamptz null'] }],
  api: [{ method: 'PATCH', path: '/todos/:id', description: 'update a todo, including its due_at' }],
  risks: ['time zones: store and compare in UTC', 'a job running twice could remind twice: guard with reminded_at'],
  testing_strategy: 'Integration tests against a real database for the routes; unit tests for the job with a fixed clock.',
})

/** Two tickets; tasks form a diamond: TSK-002 and TSK-003 depend on TSK-001, TSK-004 on both. */
export const goodTasks: Tasks = deepFreeze({
  tickets: [
    {
      id: 'TKT-001',
      title: 'Due dates on todos',
      description: 'Store and validate a due date on every todo item.',
      priority: 'high',
      requirements: ['REQ-001', 'REQ-002'],
    },
    {
      id: 'TKT-002',
      title: 'Reminders',
      description: 'Remind the owner of an open todo shortly before it is due.',
      priority: 'medium',
      requirements: ['REQ-003'],
    },
  ],
  tasks: [
    {
      id: 'TSK-001',
      ticket: 'TKT-001',
      title: 'Add the due_at column',
      description: 'Migration adding due_at and reminded_at to todos.',
      depends_on: [],
      requirements: ['REQ-001'],
      files: ['sql/002_due_dates.sql'],
      estimate_hours: 1,
    },
    {
      id: 'TSK-002',
      ticket: 'TKT-001',
      title: 'Accept due_at in PATCH',
      description: 'Validate due_at in the PATCH handler and reject dates in the past.',
      depends_on: ['TSK-001'],
      requirements: ['REQ-001', 'REQ-002'],
      files: ['src/todos/routes.ts', 'test/todos.test.ts'],
      estimate_hours: 2,
    },
    {
      id: 'TSK-003',
      ticket: 'TKT-002',
      title: 'Query for due todos',
      description: 'A query selecting open todos due within the hour that were not reminded yet.',
      depends_on: ['TSK-001'],
      requirements: ['REQ-003'],
      files: ['src/reminders/queries.ts'],
      estimate_hours: 1.5,
    },
    {
      id: 'TSK-004',
      ticket: 'TKT-002',
      title: 'Run the reminder job',
      description: 'Run the job every minute and mark each reminded todo so it is reminded once.',
      depends_on: ['TSK-002', 'TSK-003'],
      requirements: ['REQ-003'],
      files: ['src/reminders/job.ts', 'test/reminders.test.ts'],
      estimate_hours: 3,
    },
  ],
})

export const goodCompleteTask: CompleteTask = deepFreeze({
  summary: 'Added the due_at and reminded_at columns with a migration and covered them with a test.',
})

/** What a worker posts for goodCompleteTask when the work changed files and the project's check passed. */
export const goodTaskReport: TaskReport = deepFreeze({
  ...goodCompleteTask,
  branch: 'omoi/0123456789/TSK-001',
  commit: 'b'.repeat(40),
  base_commit: 'a'.repeat(40),
  files_changed: ['sql/002_due_dates.sql', 'test/migrations.test.ts'],
  check: { command: 'npm test', exit_code: 0, passed: true, duration_ms: 1234, output_tail: 'Tests  31 passed (31)' },
  conflict_markers: [],
})
