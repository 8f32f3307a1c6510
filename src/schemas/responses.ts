import * as v from 'valibot'

/**
 * The answers of the REST API (CONTRACT §2–§4, §7) as valibot schemas, for its OpenAPI document (src/http/openapi.ts).
 * Loose objects: they name what a client may rely on; an answer may carry more.
 */

const text = v.string()
const time = v.pipe(v.string(), v.isoTimestamp())
const maybe = <S extends v.GenericSchema>(s: S) => v.nullable(s)

export const ErrorAnswer = v.object({
  error: v.looseObject({
    code: v.string(),
    message: v.string(),
    fields: v.optional(v.record(v.string(), v.array(v.string()))),
  }),
})

export const UserAnswer = v.looseObject({ id: text, email: text, name: text, role: v.picklist(['user', 'admin']) })
export const AuthAnswer = v.looseObject({ user: UserAnswer, token: text })
export const MeAnswer = v.looseObject({ user: UserAnswer })
export const SessionListAnswer = v.looseObject({
  sessions: v.array(v.looseObject({ id: text, user_agent: maybe(text), created_at: time, expires_at: time, current: v.boolean() })),
})

export const ProjectAnswer = v.looseObject({
  id: text,
  name: text,
  owner_id: text,
  repo_url: maybe(text),
  default_branch: text,
  role: v.optional(v.picklist(['owner', 'editor', 'viewer'])),
  created_at: time,
  updated_at: time,
})
export const ProjectListAnswer = v.looseObject({ projects: v.array(ProjectAnswer) })
export const MemberRowAnswer = v.looseObject({ user_id: text, role: v.picklist(['viewer', 'editor']) })
export const MemberAddedAnswer = v.looseObject({ project_id: text, email: text, role: v.picklist(['viewer', 'editor']) })
export const MemberListAnswer = v.looseObject({
  members: v.array(v.looseObject({ user_id: text, role: text })),
  invitations: v.array(v.looseObject({ email: text, role: text, created_at: time })),
})
export const MemberAnswer = v.looseObject({ project_id: text, user_id: text, email: text, name: text, role: v.picklist(['viewer', 'editor']) })

const SPEC_STATUSES = ['draft', 'executing', 'paused', 'awaiting_approval', 'completed', 'failed', 'cancelled'] as const
export const SpecAnswer = v.looseObject({
  id: text,
  project_id: maybe(text),
  user_id: text,
  title: text,
  description: text,
  status: v.picklist(SPEC_STATUSES),
  current_phase: maybe(text),
  approval: v.picklist(['auto', 'manual']),
  cost_usd: v.number(),
  tokens: v.looseObject({ input: v.number(), output: v.number(), total: v.number() }),
  created_at: time,
  updated_at: time,
  phases: v.array(v.looseObject({ phase: text, status: text })),
})
export const SpecListAnswer = v.looseObject({ specs: v.array(SpecAnswer) })
export const LaunchAnswer = v.looseObject({ spec_id: text, status: text, current_phase: maybe(text), sandbox_id: v.optional(maybe(text)) })
export const ExecuteAnswer = v.looseObject({ spec_id: text, status: text })
export const MessageAnswer = v.looseObject({ spec_id: text, seq: maybe(v.number()), text })
export const CommandAnswer = v.looseObject({ spec_id: text, status: v.picklist(SPEC_STATUSES), current_phase: maybe(text), spec: SpecAnswer })

export const EventAnswer = v.looseObject({
  seq: v.number(),
  id: text,
  spec_id: text,
  sandbox_id: maybe(text),
  type: text,
  data: v.record(v.string(), v.unknown()),
  source: v.picklist(['system', 'agent', 'user']),
  created_at: time,
})
export const EventListAnswer = v.looseObject({ spec_id: text, events: v.array(EventAnswer), total: v.number() })
export const ArtifactsAnswer = v.looseObject({
  exploration: v.unknown(),
  requirements: v.unknown(),
  design: v.unknown(),
  tasks: v.unknown(),
})

export const TaskAnswer = v.looseObject({ id: text, key: text, ticket_id: text, title: text, status: text, created_at: time })
export const TicketAnswer = v.looseObject({ id: text, key: text, project_id: maybe(text), title: text, status: text, created_at: time })
export const TicketWithTasksAnswer = v.looseObject({ ...TicketAnswer.entries, tasks: v.array(TaskAnswer) })
export const QuickTicketAnswer = v.looseObject({ ...TicketWithTasksAnswer.entries, spec_id: text })
export const BoardAnswer = v.looseObject({ columns: v.array(v.looseObject({ status: text, tickets: v.array(TicketAnswer) })) })

export const HealthAnswer = v.looseObject({ ok: v.boolean() })
export const ReadyAnswer = v.looseObject({ ok: v.boolean(), migrations: v.optional(v.number()), reason: v.optional(text) })

export const AssignmentAnswer = v.looseObject({ kind: v.picklist(['phase', 'task']), spec: v.looseObject({ id: text }) })
export const IngestAnswer = v.looseObject({ accepted: v.number(), duplicates: v.number() })
export const VerdictAnswer = v.looseObject({ accepted: v.boolean(), score: v.number(), feedback: text, attempt: v.number(), done: v.boolean() })
export const MessagesAnswer = v.looseObject({ messages: v.array(v.looseObject({ seq: v.number(), text, by: text, created_at: time })) })
/** The model's own answer, forwarded as it came (a Messages API response). */
export const ModelAnswer = v.looseObject({ type: text })
/** The proxy's errors: its own (CONTRACT §2), or the model API's, forwarded as they came. */
export const ModelErrorAnswer = v.union([ErrorAnswer, v.looseObject({ type: v.literal('error'), error: v.looseObject({ type: text, message: text }) })])

export const DiffAnswer = v.looseObject({
  files: v.array(v.looseObject({ path: text, status: text, additions: v.number(), deletions: v.number() })),
  insertions: v.number(),
  deletions: v.number(),
})
