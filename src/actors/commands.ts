import { AppError } from '../errors.ts'
import { newId, newUuid } from '../ids.ts'
import { logger } from '../log.ts'
import type { Config } from '../config.ts'
import { transaction, type Sql } from '../db/connect.ts'
import { eventSeq } from '../db/events.ts'
import { findSpec, findSpecFor, FINAL_STATUSES, type SpecRow, type SpecWithAccess } from '../db/specs.ts'
import type { PublicUser } from '../db/users.ts'
import { assertCanSteer } from '../auth/access.ts'
import { ApproveSchema, MessageSchema, ReviseSchema, RetrySchema } from '../schemas/api.ts'
import { parseInput } from '../schemas/parse.ts'
import { presentSpec } from '../schemas/present.ts'
import { budgetRefusal, budgetSpent, launchBudgetRefusal, STARTS_AGENT_WORK } from './budget.ts'
import { createDraftSpec, type NewSpecInput } from './create-spec.ts'
import type { CommandInput } from './host-api.ts'
import type { SpecHost } from './host.ts'
import type { SpecEvent } from './machine-types.ts'
import type { SpecRouter } from './router.ts'
import { CommandKeys, commandFingerprint, keyedEventId, type CommandAnswer, type CommandKey, type KeepAnswer, type Kept } from './command-keys.ts'

const log = logger('omoi:actors')

/**
 * Everything a person can do to a spec, shared by REST and sockets: launch, execute, the steering commands, and
 * quick tickets. Checks who may do it (404 / 403), whether it applies now (409 naming the state), then drives the actor.
 */
export class SpecCommands {
  private readonly keys: CommandKeys

  constructor(
    private readonly sql: Sql,
    private readonly host: SpecHost,
    private readonly config: Config,
    private readonly router: SpecRouter,
  ) {
    this.keys = new CommandKeys(sql)
  }

  private requireModel(): void {
    if (!this.config.model.apiKey) {
      throw new AppError('model_not_configured', 'No model is configured: set ANTHROPIC_API_KEY on the server to run specs.')
    }
  }

  private async load(user: PublicUser, specId: string): Promise<SpecWithAccess> {
    const spec = await findSpecFor(this.sql, specId, user.id)
    if (!spec) throw new AppError('not_found', 'Spec was not found')
    return spec
  }

  /** A steering command's answer body (README: `{spec_id, status, current_phase, spec}`) for the spec as it now stands. */
  private answer(spec: SpecRow) {
    return { spec_id: spec.id, status: spec.status, current_phase: spec.current_phase, spec: presentSpec(spec) }
  }

  async launch(user: PublicUser, input: NewSpecInput & { auto_execute: boolean }) {
    if (input.auto_execute) this.requireModel()
    if (!input.project_id) {
      throw new AppError('invalid_body', 'A spec needs a project to run in: give project_id.', { project_id: ['is required to launch'] })
    }
    const spend = { cost_usd: 0, budget_usd: input.budget_usd ?? null }
    if (input.auto_execute && budgetSpent(spend)) throw launchBudgetRefusal(spend.budget_usd)
    const spec = await createDraftSpec(this.sql, user.id, input)
    if (!input.auto_execute) {
      return { spec_id: spec.id, status: 'created', current_phase: spec.current_phase, sandbox_id: null, message: 'Spec created; execute it when ready.' }
    }
    const started = await this.start(spec, user)
    return { ...started, status: 'executing', message: 'Spec launched: the explore phase is starting.' }
  }

  async execute(user: PublicUser, specId: string) {
    const spec = await this.load(user, specId)
    assertCanSteer(spec.access)
    if (!spec.project_id) {
      throw new AppError('invalid_body', 'This spec has no project, so there is no repository to work on.', { project_id: ['is missing'] })
    }
    if (spec.status !== 'draft') {
      if (FINAL_STATUSES.includes(spec.status)) throw new AppError('conflict', `The spec is ${spec.status}; it cannot run again.`)
      return { code: 200, body: { spec_id: spec.id, status: 'already_running', current_phase: spec.current_phase, sandbox_id: this.sandboxOf(spec.id) } }
    }
    this.requireModel()
    if (budgetSpent(spec)) throw budgetRefusal(spec, 'run')
    return { code: 202, body: { ...(await this.start(spec, user)), status: 'started' } }
  }

  private sandboxOf(specId: string): string | null {
    const ctx = this.host.context(specId)
    if (!ctx || ctx.currentPhase === 'done') return null
    if (ctx.currentPhase === 'execute') return Object.values(ctx.tasks).find((t) => t.sandboxId)?.sandboxId ?? null
    return ctx.phases[ctx.currentPhase].sandboxId
  }

  private async start(spec: SpecRow, user: PublicUser, launch?: SpecEvent & { type: 'LAUNCH' }) {
    await this.host.ensure(spec)
    await this.host.send(spec.id, launch ?? { type: 'LAUNCH', by: user.id })
    // the answer names the first sandbox when it is there within a moment
    await this.host.waitFor(spec.id, () => this.sandboxOf(spec.id) !== null, 3000)
    const now = (await findSpec(this.sql, spec.id))!
    return { spec_id: spec.id, current_phase: now.current_phase, sandbox_id: this.sandboxOf(spec.id) }
  }

  /**
   * A steering command (CONTRACT §4 approve/revise/pause/resume/cancel/retry/messages), same answer over REST and sockets.
   * With `idempotency` (the key, and `named`: the header or field it came in), the command is served once per key: a
   * retry gets the first answer again (`replayed`), a 4xx included, and nothing is applied again (command-keys.ts).
   * Without it, a 4xx is thrown as before; with it, a 4xx is answered (it is the answer a retry gets too).
   */
  async command(user: PublicUser, specId: string, input: CommandInput, idempotency?: { key: string; named: string }): Promise<CommandAnswer> {
    const spec = await this.load(user, specId)
    assertCanSteer(spec.access)
    if (!idempotency) return this.router.run({ kind: 'command', specId, user, input }, () => this.commandHere(user, specId, input))
    const key = { key: idempotency.key, fingerprint: commandFingerprint(specId, input) }
    const reserved = await this.keys.reserve(user.id, key, idempotency.named)
    if ('replay' in reserved) return reserved.replay
    try {
      return await this.router.run({ kind: 'command', specId, user, input, key }, () => this.commandHere(user, specId, input, key))
    } catch (err) {
      // a 5xx is never the answer: free the key for the retry (unless the node that applied it has answered it meanwhile)
      await this.keys.release(user.id, key.key, reserved.holder).catch((releaseErr: unknown) => {
        log.warn('an idempotency key stays reserved until it counts as abandoned', { spec_id: specId, err: releaseErr })
      })
      throw err
    }
  }

  /** `command` on the node that runs the spec (the router brings it here); with `key`, answered once per key. */
  async commandHere(user: PublicUser, specId: string, input: CommandInput, key?: CommandKey): Promise<CommandAnswer> {
    if (!key) return this.apply(user, specId, input)
    return this.keys.applyOnce(user.id, specId, key, (keep) => this.apply(user, specId, input, key, keep))
  }

  /** Applies the command; with its key, a transition's answer is kept with the transition (`keep`, command-keys.ts). */
  private apply(user: PublicUser, specId: string, input: CommandInput): Promise<CommandAnswer>
  private apply(user: PublicUser, specId: string, input: CommandInput, key: CommandKey, keep: KeepAnswer): Promise<CommandAnswer | Kept>
  private async apply(user: PublicUser, specId: string, input: CommandInput, key?: CommandKey, keep?: KeepAnswer): Promise<CommandAnswer | Kept> {
    const spec = await this.load(user, specId)
    assertCanSteer(spec.access)
    if (spec.status !== 'draft' || input.command === 'cancel') await this.host.ensure(spec)
    if (input.command === 'message') return { code: 201, body: await this.message(user, spec, parseInput(MessageSchema, input).text, key) }

    const event = this.toEvent(user, input)
    // whether it applies now comes first: a draft is not "over budget", it is not running
    if (!this.host.can(spec.id, event)) {
      await this.host.confirmClaim(spec.id) // a stale copy (its lease taken over) hands the command to the owner instead
      throw this.notApplicable(spec, input)
    }
    const doing = STARTS_AGENT_WORK[input.command]
    if (doing && budgetSpent(spec)) throw budgetRefusal(spec, doing)
    if (keep) return this.host.sendWith(spec.id, event, (tx, now) => keep(tx, { code: 200, body: this.answer(now) }))
    await this.host.send(spec.id, event)
    return { code: 200, body: this.answer((await findSpec(this.sql, spec.id))!) }
  }

  private toEvent(user: PublicUser, input: CommandInput): SpecEvent {
    switch (input.command) {
      case 'approve':
        return { type: 'APPROVE', phase: parseInput(ApproveSchema, input).phase, by: user.id }
      case 'revise': {
        const body = parseInput(ReviseSchema, input)
        return { type: 'REVISE', phase: body.phase, feedback: body.feedback, by: user.id }
      }
      case 'pause':
        return { type: 'PAUSE', by: user.id }
      case 'resume':
        return { type: 'RESUME', by: user.id }
      case 'cancel':
        return { type: 'CANCEL', by: user.id }
      case 'retry': {
        const task = parseInput(RetrySchema, input).task_id
        return task ? { type: 'RETRY', by: user.id, task } : { type: 'RETRY', by: user.id }
      }
      case 'message':
        throw new Error('message is not a machine event')
    }
  }

  private notApplicable(spec: SpecRow, input: CommandInput): AppError {
    const state = this.host.stateOf(spec.id)
    const where = state ? `${spec.status} (${state})` : spec.status
    if (input.command === 'approve' || input.command === 'revise') {
      return new AppError('conflict', `The ${input.phase} phase is not awaiting approval: the spec is ${where}.`)
    }
    if (input.command === 'retry' && input.task_id) {
      return new AppError('conflict', `Task ${input.task_id} has not failed, so it cannot be retried: the spec is ${where}.`)
    }
    return new AppError('conflict', `Cannot ${input.command} while the spec is ${where}.`)
  }

  /**
   * Appends a person's message for the agents. A keyed one gets its event id from the key (`keyedEventId`), so a retry
   * that runs it again (its first answer was lost to a 5xx after the append) finds it stored and answers its seq.
   */
  private async message(user: PublicUser, spec: SpecRow, text: string, key?: CommandKey) {
    if (spec.status !== 'executing') {
      throw new AppError('conflict', `No agent is working on this spec now (it is ${spec.status}); the message was not sent.`)
    }
    const id = key ? keyedEventId(user.id, key) : newUuid()
    const { written } = await this.host.appendEvents(spec.id, [
      { id, type: 'user.message', data: { text, by: user.id, by_name: user.name }, source: 'user', sandbox_id: null },
    ])
    if (written.length === 0) return { spec_id: spec.id, seq: await eventSeq(this.sql, spec.id, id), text }
    // the last agent may have finished between the check above and the append: no agent will take it, so say so
    const now = await findSpec(this.sql, spec.id)
    if (now && FINAL_STATUSES.includes(now.status)) await this.host.reportUndelivered(spec.id)
    return { spec_id: spec.id, seq: written[0]?.seq ?? null, text }
  }

  /** Quick mode: one ticket with one task, run at once without planning phases. */
  async quickTicket(user: PublicUser, input: { project_id: string; title: string; description: string }) {
    this.requireModel()
    const spec = await createDraftSpec(this.sql, user.id, { ...input, approval: 'auto' }, 'quick')
    await transaction(this.sql, async (tx) => {
      const ticketId = newId('tkt')
      await tx`insert into tickets (id, spec_id, user_id, project_id, key, title, description, priority)
        values (${ticketId}, ${spec.id}, ${user.id}, ${input.project_id}, 'TKT-001', ${input.title}, ${input.description}, 'medium')`
      await tx`insert into tasks (id, spec_id, ticket_id, key, title, description)
        values (${newId('tsk')}, ${spec.id}, ${ticketId}, 'TSK-001', ${input.title}, ${input.description})`
    })
    await this.start(spec, user, { type: 'LAUNCH', by: user.id, quickTasks: [{ key: 'TSK-001', ticket: 'TKT-001', title: input.title }] })
    const [ticket] = await this.sql<{ id: string }[]>`select id from tickets where spec_id = ${spec.id}`
    return { ticket_id: ticket!.id, spec_id: spec.id }
  }
}
