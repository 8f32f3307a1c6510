import { createHash } from 'node:crypto'
import { v5 as uuidv5 } from 'uuid'
import { AppError } from '../errors.ts'
import { newUuid } from '../ids.ts'
import type { Sql } from '../db/connect.ts'
import { findKey, recordAnswer, releaseKey, reserveKey, type StoredAnswer } from '../db/idempotency.ts'
import { COMMAND_BODIES } from '../schemas/api.ts'
import type { CommandInput } from './host-api.ts'
import { ROUTE_DEADLINE_MS } from './router.ts'
import { writeUntilStored } from './write-retry.ts'

/**
 * Idempotency keys of steering commands (IETF draft "The Idempotency-Key HTTP Header Field"). The node that receives a
 * keyed command reserves the key (`reserve`); the node that applies it (the spec's owner, perhaps another node) stores
 * its answer (`applyOnce`): in the transaction of the transition the command causes (`KeepAnswer`), or right after a
 * command that changes no state. So a retry through any node gets that answer again instead of a 409 from applying it
 * twice, even after a crash. Answers are kept in the database (src/db/idempotency.ts), never only here.
 */

/** A command's key as it travels to the node that applies it (inside the RoutedCall): the key and the request's fingerprint. */
export interface CommandKey {
  key: string
  fingerprint: string
}

/** A command's answer: status and body (a CONTRACT §2 error body for a 4xx); `replayed` when it is a stored one. */
export type CommandAnswer = StoredAnswer & { replayed?: true }

/**
 * Stores the answer of the command being applied in `tx`, the transaction of the transition that command causes (host
 * `sendWith`), so both are committed or neither: a crash between the two would leave the key unanswered with the command
 * applied, and its retry would meet that (a 409). Resolves the answer that stands, as stored (after the text boundary),
 * for `apply` to hand back.
 */
export type KeepAnswer = (tx: Sql, answer: StoredAnswer) => Promise<Kept>

/** An answer stored with the transition (`KeepAnswer`), once that is committed: `applyOnce` answers it as it is. */
export interface Kept {
  kept: CommandAnswer
}

const answered = (r: { answer: StoredAnswer; replayed: boolean }): CommandAnswer => (r.replayed ? { ...r.answer, replayed: true } : r.answer)

/**
 * A reservation unanswered this long is abandoned (its node gave up or died) and a retry may take it over: the route
 * deadline (a receiving node answers 503 by then and releases its reservation) plus a margin for a paused one.
 */
const ABANDONED_AFTER_MS = ROUTE_DEADLINE_MS + 40_000

/** What the in-progress answer tells the client to wait before asking again. */
const IN_PROGRESS_RETRY_S = 1

/**
 * The request a key was used for: spec, command and the command's canonical body (the fields its schema takes, in one
 * order; fields the command ignores do not count, as CONTRACT ignores unknown fields). Hex SHA-256.
 */
export function commandFingerprint(specId: string, input: CommandInput): string {
  const fields = Object.keys(COMMAND_BODIES[input.command].entries).sort()
  const body = fields.map((f) => [f, input[f as keyof CommandInput] ?? null])
  return createHash('sha256').update(JSON.stringify([specId, input.command, body])).digest('hex')
}

/** The namespace of keyed command events' name-based UUIDs (a random UUID, fixed here). */
const KEYED_EVENTS = 'a3f1c0de-5b7e-4c2a-9d4f-0e6b8c1d2f37'

/**
 * The event id of a keyed command's event (a message): the same for every serving of one request, so the event log's
 * duplicate check (src/db/events.ts `appendEvents`) keeps a retry from appending it twice. A name-based UUID (RFC 9562
 * version 5, the `uuid` package) of user, key and fingerprint.
 */
export function keyedEventId(userId: string, k: CommandKey): string {
  return uuidv5(`${userId}\n${k.key}\n${k.fingerprint}`, KEYED_EVENTS)
}

/** The two halves of a keyed command: `reserve`/`release` where it is received, `applyOnce` where it is applied. */
export class CommandKeys {
  /** The keys this node applies now: a late forwarded call and its retry, meeting here, take turns. */
  private applying = new Map<string, Promise<unknown>>()

  constructor(private readonly sql: Sql) {}

  /**
   * On the node that received the command: reserves the key for this request. Resolves `{holder}` when it is this
   * request's to serve, or `{replay}` with the stored answer of an earlier serving. Throws 400 `invalid_body` naming
   * `named` (the header or field the key came in) when the key was used for a different request, and 409 `conflict`
   * with a Retry-After when that request is still being served.
   */
  async reserve(userId: string, k: CommandKey, named: string): Promise<{ holder: string } | { replay: CommandAnswer }> {
    const holder = newUuid()
    for (;;) {
      if (await reserveKey(this.sql, { userId, ...k, holder, abandonedAfterMs: ABANDONED_AFTER_MS })) return { holder }
      const row = await findKey(this.sql, userId, k.key)
      if (!row) continue // released or expired between the two statements: reserve again
      if (row.fingerprint !== k.fingerprint) {
        const problem = 'was already used for a different request; use a new key for a new request'
        throw new AppError('invalid_body', `This ${named} ${problem}.`, { [named]: [problem] })
      }
      if (row.answer) return { replay: { ...row.answer, replayed: true } }
      throw new AppError(
        'conflict',
        `A request with this ${named} is still being served; ask again in a moment for its answer.`,
        undefined,
        IN_PROGRESS_RETRY_S,
      )
    }
  }

  /**
   * On the node that received the command, when its serving ended without an answer to keep (a 5xx: it never stands as
   * the answer): frees the reservation for a retry, unless the applying node has answered it meanwhile.
   */
  release(userId: string, key: string, holder: string): Promise<void> {
    return releaseKey(this.sql, { userId, key, holder })
  }

  /**
   * On the node that applies the command: answers the stored answer when the key has one (a retry that reached it
   * after the first serving completed), else runs `apply`. A command that changes state stores its answer with its
   * transition through the `KeepAnswer` it is given and resolves `Kept`; any other answer `apply` resolves, or a 4xx
   * AppError it throws, is stored here (the first answer is the answer). A 5xx or another error is thrown and not
   * stored. That store is retried while the database is briefly away, up to the time a reservation counts as abandoned.
   */
  applyOnce(userId: string, specId: string, k: CommandKey, apply: (keep: KeepAnswer) => Promise<StoredAnswer | Kept>): Promise<CommandAnswer> {
    const id = `${userId}\n${k.key}`
    const turn = (this.applying.get(id) ?? Promise.resolve()).then(() => this.applyNow(userId, specId, k, apply))
    const done = turn.then(
      () => {},
      () => {},
    )
    this.applying.set(id, done)
    void done.then(() => {
      if (this.applying.get(id) === done) this.applying.delete(id)
    })
    return turn
  }

  private async applyNow(
    userId: string,
    specId: string,
    k: CommandKey,
    apply: (keep: KeepAnswer) => Promise<StoredAnswer | Kept>,
  ): Promise<CommandAnswer> {
    const row = await findKey(this.sql, userId, k.key)
    if (row?.answer && row.fingerprint === k.fingerprint) return { ...row.answer, replayed: true }
    const keep: KeepAnswer = async (tx, answer) => ({ kept: answered(await recordAnswer(tx, { userId, ...k, answer })) })
    let answer: StoredAnswer
    try {
      const applied = await apply(keep)
      if ('kept' in applied) return applied.kept
      answer = applied
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err
      answer = { code: err.status, body: { error: err.toJSON() } }
    }
    const outcome = await writeUntilStored(
      { spec_id: specId },
      () => recordAnswer(this.sql, { userId, ...k, answer }),
      AbortSignal.timeout(ABANDONED_AFTER_MS),
    )
    if (!outcome.stored) throw outcome.error
    return answered(outcome.value)
  }
}
