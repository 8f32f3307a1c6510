import * as v from 'valibot'
import { AGENT_PHASES, APPROVAL_PHASES } from './phase-outputs.ts'
import { noNul, personText, queryId, repoPath, urlHasCredentials } from './fields.ts'

/** Request bodies of the REST API and the socket commands (CONTRACT §3, §4, §6). Unknown fields are dropped. */

const required = (what: string) => `${what} is required`

/** numeric(12, 4): the largest budget the column holds. */
export const MAX_BUDGET_USD = 99_999_999

/** Whether `n` is a number of at most 4 decimals, as numeric(12, 4) holds it exactly (0.1 + 0.2's float noise aside). */
export const hasAtMost4Decimals = (n: number): boolean => Math.abs(n - Number(n.toFixed(4))) <= Number.EPSILON * Math.max(1, n)

export const EmailSchema = v.pipe(
  v.string('email must be a string'),
  v.trim(),
  v.toLowerCase(),
  // RFC 6531 addresses (é@example.com) are refused: not every mail system delivers them, and look-alike letters would
  // make two accounts that read the same (README, Sessions and login)
  v.regex(/^[\x21-\x7e]*$/, 'email must be written in ASCII letters, digits and symbols (internationalized addresses are not supported)'),
  v.email('email must be a valid address'),
  v.maxLength(254, 'email is too long'),
  noNul('email'),
)

export const SignupSchema = v.object({
  email: EmailSchema,
  password: v.pipe(v.string('password must be a string'), v.minLength(8, 'password must be at least 8 characters'), v.maxLength(200, 'password is too long')),
  name: personText('name', 100),
})

export const LoginSchema = v.object({
  email: EmailSchema,
  password: v.pipe(v.string('password must be a string'), v.minLength(1, required('password'))),
})

const RepoUrlSchema = v.pipe(
  v.string('repo_url must be a string'),
  v.trim(),
  v.minLength(1, 'repo_url must not be empty'),
  v.maxLength(2000, 'repo_url is too long'),
  noNul('repo_url'),
  v.check(
    (s) => /^(https?|ssh|git|file):\/\//.test(s) || /^[\w.-]+@[\w.-]+:/.test(s) || s.startsWith('/'),
    'repo_url must be a git URL (https://, ssh://, git@host:path, file://) or an absolute local path',
  ),
  // every member sees repo_url: a secret in it would be shown to all of them (and to every log line that names it)
  v.check((s) => !urlHasCredentials(s), 'repo_url must not contain a user name, password or token: set OMOI_GIT_TOKEN on the server instead'),
)

const BranchSchema = v.pipe(
  v.string('default_branch must be a string'),
  v.trim(),
  v.regex(/^(?!-)(?!.*\.\.)[\w./-]{1,200}$/, 'default_branch must be a valid git branch name'),
)

/** A shell command run in the workspace to check the work (`npm test`); an empty string or null means none. */
export const CheckCommandSchema = v.pipe(
  v.string('check_command must be a string'),
  v.trim(),
  v.maxLength(2000, 'check_command must be at most 2000 characters'),
  noNul('check_command'),
  v.transform((s) => (s === '' ? null : s)),
)

export const CreateProjectSchema = v.object({
  name: personText('name', 200),
  repo_url: v.optional(v.nullable(RepoUrlSchema)),
  default_branch: v.optional(BranchSchema),
  check_command: v.optional(v.nullable(CheckCommandSchema)),
})

/** PATCH /projects/:id (owner only): the fields given change. */
export const UpdateProjectSchema = v.object({
  name: v.optional(personText('name', 200)),
  default_branch: v.optional(BranchSchema),
  check_command: v.optional(v.nullable(CheckCommandSchema)),
})

export const AddMemberSchema = v.object({
  email: EmailSchema,
  role: v.picklist(['viewer', 'editor'], 'role must be "viewer" or "editor"'),
})

/** PATCH /projects/:id/members/:user_id. */
export const MemberRoleSchema = v.object({ role: AddMemberSchema.entries.role })

/** The path of DELETE /projects/:id/invitations/:email: the invited email, checked and lower-cased like a body's. */
export const InvitationPathSchema = v.object({ email: EmailSchema })

const SpecFields = {
  project_id: v.optional(v.nullable(v.string('project_id must be a string'))),
  title: personText('title', 300),
  description: personText('description', 20000),
  approval: v.optional(v.picklist(['auto', 'manual'], 'approval must be "auto" or "manual"'), 'auto'),
  budget_usd: v.optional(
    v.nullable(
      v.pipe(
        v.number('budget_usd must be a number'),
        v.minValue(0, 'budget_usd must not be negative'),
        // stored to 1/100 of a cent: more decimals would be rounded silently (1e-7 to 0, 0.006315 to 0.0063)
        v.check(hasAtMost4Decimals, 'budget_usd must have at most 4 decimal places (1/100 of a cent)'),
        v.maxValue(MAX_BUDGET_USD, `budget_usd must be at most ${MAX_BUDGET_USD}`),
      ),
    ),
  ),
}

export const CreateSpecSchema = v.object(SpecFields)

/** PATCH /specs/:id: what may change on a spec after it was made (its budget; null removes the limit). */
export const UpdateSpecSchema = v.object({ budget_usd: SpecFields.budget_usd.wrapped })

export const LaunchSpecSchema = v.object({
  ...SpecFields,
  auto_execute: v.optional(v.boolean('auto_execute must be true or false'), true),
})

export const ApproveSchema = v.object({
  phase: v.picklist(APPROVAL_PHASES, `phase must be one of ${APPROVAL_PHASES.join(', ')}`),
})

export const ReviseSchema = v.object({
  phase: v.picklist(AGENT_PHASES, `phase must be one of ${AGENT_PHASES.join(', ')}`),
  feedback: personText('feedback', 20000),
})

export const MessageSchema = v.object({ text: personText('text', 20000) })

export const RetrySchema = v.object({ task_id: v.optional(v.string('task_id must be a string')) })

export const CreateTicketSchema = v.object({
  project_id: v.string('project_id must be a string'),
  title: personText('title', 300),
  description: personText('description', 20000),
})

const intString = (what: string, min: number, max: number) =>
  v.pipe(
    v.string(`${what} must be a string`),
    v.regex(/^\d+$/, `${what} must be a whole number`),
    v.transform(Number),
    v.minValue(min, `${what} must be at least ${min}`),
    v.maxValue(max, `${what} must be at most ${max}`),
  )

export const EventsQuerySchema = v.object({
  limit: v.optional(intString('limit', 1, 500), '50'),
  offset: v.optional(intString('offset', 0, Number.MAX_SAFE_INTEGER), '0'),
  after_seq: v.optional(intString('after_seq', 0, Number.MAX_SAFE_INTEGER)),
  type: v.optional(
    v.pipe(v.string('type must be a string'), v.minLength(1, 'type must not be empty: give an event type or leave type out'), v.maxLength(100, 'type must be at most 100 characters')),
  ),
})

/** GET /projects/:id/specs: a status filter, a title search, and a page (newest first). */
export const ProjectSpecsQuerySchema = v.object({
  status: v.optional(v.picklist(['draft', 'executing', 'paused', 'awaiting_approval', 'completed', 'failed', 'cancelled'], 'status must be a spec status')),
  q: v.optional(v.pipe(v.string('q must be a string'), v.trim(), v.maxLength(200, 'q must be at most 200 characters'))),
  limit: v.optional(intString('limit', 1, 100), '20'),
  offset: v.optional(intString('offset', 0, Number.MAX_SAFE_INTEGER), '0'),
})

export const BoardQuerySchema = v.object({ project_id: v.optional(queryId('project_id')) })

/** Socket.IO payloads (namespace `/`). */
export const SpecJoinSchema = v.object({
  spec_id: v.string('spec_id must be a string'),
  after_seq: v.optional(
    v.pipe(
      v.number('after_seq must be a number'),
      v.integer('after_seq must be a whole number'),
      v.minValue(0, 'after_seq must not be negative'),
      v.maxValue(Number.MAX_SAFE_INTEGER, `after_seq must be at most ${Number.MAX_SAFE_INTEGER}`),
    ),
  ),
  /** false: follow the spec's events without being listed as watching it (the board does this). */
  presence: v.optional(v.boolean('presence must be true or false'), true),
  /** true: live events come as `spec:events` arrays, one per tick, and presence as deltas (CONTRACT §6). */
  batch: v.optional(v.boolean('batch must be true or false'), false),
})
export const SpecLeaveSchema = v.object({ spec_id: v.string('spec_id must be a string') })

/**
 * An idempotency key (IETF draft "The Idempotency-Key HTTP Header Field"): REST's `Idempotency-Key` header and the
 * socket command's `idempotency_key`. 1 to 255 printable ASCII characters (a UUID is the usual choice).
 */
export const IdempotencyKeySchema = v.pipe(
  v.string('an idempotency key must be a string'),
  v.regex(/^[\x20-\x7e]{1,255}$/, 'an idempotency key must be 1 to 255 printable ASCII characters'),
)

export const COMMANDS = ['approve', 'revise', 'pause', 'resume', 'cancel', 'retry', 'message'] as const
export type CommandName = (typeof COMMANDS)[number]

export const SpecCommandSchema = v.object({
  spec_id: v.string('spec_id must be a string'),
  command: v.picklist(COMMANDS, `command must be one of ${COMMANDS.join(', ')}`),
  phase: v.optional(v.string('phase must be a string')),
  feedback: v.optional(v.string('feedback must be a string')),
  text: v.optional(v.string('text must be a string')),
  task_id: v.optional(v.string('task_id must be a string')),
  /** The command's idempotency key: a retry with it gets the first answer again (README, Idempotency keys). */
  idempotency_key: v.optional(IdempotencyKeySchema),
})
export const ActorInspectSchema = v.object({ spec_id: v.string('spec_id must be a string') })

/** The body of each steering command's REST route (`POST /specs/:id/<command>`, `/messages` for message). */
export const COMMAND_BODIES: Record<CommandName, v.ObjectSchema<v.ObjectEntries, undefined>> = {
  approve: ApproveSchema,
  revise: ReviseSchema,
  pause: v.object({}),
  resume: v.object({}),
  cancel: v.object({}),
  retry: RetrySchema,
  message: MessageSchema,
}

/** `GET /specs/:id/diff` query (CONTRACT §4). */
export const DiffQuerySchema = v.object({
  task: v.optional(v.pipe(v.string('task must be a string'), v.regex(/^[A-Z]+-\d{3,}$/, 'task must be a task id such as TSK-001'))),
  path: v.optional(repoPath('path')),
  format: v.optional(v.picklist(['json', 'patch'], 'format must be "patch" or absent')),
})
