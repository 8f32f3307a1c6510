import * as v from 'valibot'
import { AGENT_PHASES, APPROVAL_PHASES } from './phase-outputs.ts'

/** Request bodies of the REST API and the socket commands (CONTRACT §3, §4, §6). Unknown fields are dropped. */

const required = (what: string) => `${what} is required`
const nonEmpty = (what: string, max: number) =>
  v.pipe(v.string(`${what} must be a string`), v.trim(), v.minLength(1, `${what} must not be empty`), v.maxLength(max, `${what} must be at most ${max} characters`))

export const EmailSchema = v.pipe(
  v.string('email must be a string'),
  v.trim(),
  v.toLowerCase(),
  v.email('email must be a valid address'),
  v.maxLength(254, 'email is too long'),
)

export const SignupSchema = v.object({
  email: EmailSchema,
  password: v.pipe(v.string('password must be a string'), v.minLength(8, 'password must be at least 8 characters'), v.maxLength(200, 'password is too long')),
  name: nonEmpty('name', 100),
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
  v.check(
    (s) => /^(https?|ssh|git|file):\/\//.test(s) || /^[\w.-]+@[\w.-]+:/.test(s) || s.startsWith('/'),
    'repo_url must be a git URL (https://, ssh://, git@host:path, file://) or an absolute local path',
  ),
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
  v.transform((s) => (s === '' ? null : s)),
)

export const CreateProjectSchema = v.object({
  name: nonEmpty('name', 200),
  repo_url: v.optional(v.nullable(RepoUrlSchema)),
  default_branch: v.optional(BranchSchema),
  check_command: v.optional(v.nullable(CheckCommandSchema)),
})

/** PATCH /projects/:id (owner only): the fields given change. */
export const UpdateProjectSchema = v.object({
  name: v.optional(nonEmpty('name', 200)),
  default_branch: v.optional(BranchSchema),
  check_command: v.optional(v.nullable(CheckCommandSchema)),
})

export const AddMemberSchema = v.object({
  email: EmailSchema,
  role: v.picklist(['viewer', 'editor'], 'role must be "viewer" or "editor"'),
})

const SpecFields = {
  project_id: v.optional(v.nullable(v.string('project_id must be a string'))),
  title: nonEmpty('title', 300),
  description: nonEmpty('description', 20000),
  approval: v.optional(v.picklist(['auto', 'manual'], 'approval must be "auto" or "manual"'), 'auto'),
  budget_usd: v.optional(v.nullable(v.pipe(v.number('budget_usd must be a number'), v.minValue(0, 'budget_usd must not be negative')))),
}

export const CreateSpecSchema = v.object(SpecFields)

export const LaunchSpecSchema = v.object({
  ...SpecFields,
  auto_execute: v.optional(v.boolean('auto_execute must be true or false'), true),
})

export const ApproveSchema = v.object({
  phase: v.picklist(APPROVAL_PHASES, `phase must be one of ${APPROVAL_PHASES.join(', ')}`),
})

export const ReviseSchema = v.object({
  phase: v.picklist(AGENT_PHASES, `phase must be one of ${AGENT_PHASES.join(', ')}`),
  feedback: nonEmpty('feedback', 20000),
})

export const MessageSchema = v.object({ text: nonEmpty('text', 20000) })

export const RetrySchema = v.object({ task_id: v.optional(v.string('task_id must be a string')) })

export const CreateTicketSchema = v.object({
  project_id: v.string('project_id must be a string'),
  title: nonEmpty('title', 300),
  description: nonEmpty('description', 20000),
})

const intString = (what: string, min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, `${what} must be a whole number`),
    v.transform(Number),
    v.number(),
    v.minValue(min, `${what} must be at least ${min}`),
    v.maxValue(max, `${what} must be at most ${max}`),
  )

export const EventsQuerySchema = v.object({
  limit: v.optional(intString('limit', 1, 500), '50'),
  offset: v.optional(intString('offset', 0, Number.MAX_SAFE_INTEGER), '0'),
  after_seq: v.optional(intString('after_seq', 0, Number.MAX_SAFE_INTEGER)),
  type: v.optional(v.pipe(v.string(), v.maxLength(100))),
})

export const BoardQuerySchema = v.object({ project_id: v.optional(v.string()) })

/** Socket.IO payloads (namespace `/`). */
export const SpecJoinSchema = v.object({
  spec_id: v.string('spec_id must be a string'),
  after_seq: v.optional(v.pipe(v.number('after_seq must be a number'), v.integer(), v.minValue(0))),
  /** false: follow the spec's events without being listed as watching it (the board does this). */
  presence: v.optional(v.boolean('presence must be true or false'), true),
})
export const SpecLeaveSchema = v.object({ spec_id: v.string('spec_id must be a string') })

export const COMMANDS = ['approve', 'revise', 'pause', 'resume', 'cancel', 'retry', 'message'] as const
export type CommandName = (typeof COMMANDS)[number]

export const SpecCommandSchema = v.object({
  spec_id: v.string('spec_id must be a string'),
  command: v.picklist(COMMANDS, `command must be one of ${COMMANDS.join(', ')}`),
  phase: v.optional(v.string()),
  feedback: v.optional(v.string()),
  text: v.optional(v.string()),
  task_id: v.optional(v.string()),
})
export const ActorInspectSchema = v.object({ spec_id: v.string('spec_id must be a string') })
