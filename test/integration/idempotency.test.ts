import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { commandFingerprint } from '../../src/actors/command-keys.ts'
import { projectCast, type Api } from '../support/api.ts'
import { forSpec } from '../support/model-gate.ts'
import { launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { ask, connect, connected, type TestSocket } from '../support/socket-client.ts'
import { everyEvent, runningSandbox, startStack, type Stack } from '../support/stack.ts'

/**
 * Idempotency keys on steering commands (IETF draft "The Idempotency-Key HTTP Header Field"; README, Idempotency keys):
 * a retry with the same key gets the first answer again, 409s included, marked `Idempotent-Replayed: true`, and
 * nothing is applied twice. One node, on PGlite and on PostgreSQL.
 */

let stack: Stack
let owner: Api
let projectId: string
const sockets: TestSocket[] = []

beforeAll(async () => {
  stack = await startStack()
  ;({ owner, projectId } = await projectCast(stack.server.url, await makeRepo()))
})
afterAll(async () => {
  for (const s of sockets) s.disconnect()
  await stack?.stop()
})

const keyed = (key: string, path: string, body: unknown = {}) => owner.request('POST', path, body, { 'idempotency-key': key })

const awaitingApproval = async (title: string, phase: string) => {
  const specId = await launchSpec(owner, projectId, title, { approval: 'manual' })
  const spec = await waitForStatus(owner, specId, ['awaiting_approval', 'failed'])
  expect(spec).toMatchObject({ status: 'awaiting_approval', current_phase: phase })
  return specId
}

describe('Idempotency-Key on REST commands', () => {
  it('replays the first answer (200 or 409) with Idempotent-Replayed, applies once, refuses reuse for another request', async () => {
    const specId = await awaitingApproval('Keyed approval', 'requirements')

    // a refusal is the answer too: replayed later, when the same request would apply
    const early = randomUUID()
    const refused = await keyed(early, `/specs/${specId}/approve`, { phase: 'design' })
    expect(refused.status).toBe(409)
    expect(refused.body.error.code).toBe('conflict')

    const key = randomUUID()
    const first = await keyed(key, `/specs/${specId}/approve`, { phase: 'requirements' })
    expect(first.status, JSON.stringify(first.body)).toBe(200)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    const again = await keyed(key, `/specs/${specId}/approve`, { phase: 'requirements', ignored: 'unknown fields do not count' })
    expect(again.status, JSON.stringify(again.body)).toBe(200)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.body).toEqual(first.body)
    // the draft's quoted form names the same key
    const quoted = await keyed(`"${key}"`, `/specs/${specId}/approve`, { phase: 'requirements' })
    expect([quoted.status, quoted.headers.get('idempotent-replayed')]).toEqual([200, 'true'])
    expect(quoted.body).toEqual(first.body)
    // without the key the same request is evaluated afresh: it does not apply any more
    expect((await owner.post(`/specs/${specId}/approve`, { phase: 'requirements' })).status).toBe(409)

    // the same key for another request: 400 naming the header, and nothing happens
    for (const [path, body] of [
      [`/specs/${specId}/approve`, { phase: 'design' }],
      [`/specs/${specId}/pause`, {}],
    ] as const) {
      const reused = await keyed(key, path, body)
      expect(reused.status, JSON.stringify(reused.body)).toBe(400)
      expect(reused.body.error.code).toBe('invalid_body')
      expect(reused.body.error.fields['Idempotency-Key']).toEqual([expect.stringMatching(/different request/)])
    }
    // malformed keys: 400 naming the header
    for (const bad of ['', 'k'.repeat(256), 'clé', 'tab\there', 'zz-a, zz-b', '"zz-a", "zz-b"', '"a\\"b"', 'half"quoted']) {
      const res = await keyed(bad, `/specs/${specId}/pause`)
      expect(res.status, `${JSON.stringify(bad)}: ${JSON.stringify(res.body)}`).toBe(400)
      expect(res.body.error.fields['Idempotency-Key']).toEqual([expect.stringMatching(/1 to 255 printable ASCII characters|one Idempotency-Key header with one value/)])
    }
    expect((await owner.get(`/specs/${specId}`)).body.status).not.toBe('paused')

    // design now awaits approval: the refused request's key still answers its first answer, 409, without applying it
    await waitForStatus(owner, specId, ['awaiting_approval', 'failed'])
    expect((await owner.get(`/specs/${specId}`)).body.current_phase).toBe('design')
    const replayedRefusal = await keyed(early, `/specs/${specId}/approve`, { phase: 'design' })
    expect(replayedRefusal.status).toBe(409)
    expect(replayedRefusal.headers.get('idempotent-replayed')).toBe('true')
    expect(replayedRefusal.body).toEqual(refused.body)
    expect((await owner.get(`/specs/${specId}`)).body).toMatchObject({ status: 'awaiting_approval', current_phase: 'design' })

    const events = await everyEvent(owner, specId)
    expect(events.filter((e) => e.type === 'spec.approved').map((e) => e.data.phase)).toEqual(['requirements'])
    expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
  }, 150_000)
})

describe('idempotency_key on the socket command', () => {
  it('replays the first answer with replayed: true, refuses reuse for another request, applies once', async () => {
    const specId = await awaitingApproval('Keyed socket approval', 'requirements')
    const socket = connect(stack.server.url, { token: owner.token! })
    sockets.push(socket)
    await connected(socket)

    const key = randomUUID()
    const approve = { spec_id: specId, command: 'approve', phase: 'requirements', idempotency_key: key }
    const first = await ask(socket, 'spec:command', approve)
    expect(first, JSON.stringify(first)).toMatchObject({ ok: true, status: 'executing' })
    expect(first.replayed).toBeUndefined()
    const again = await ask(socket, 'spec:command', approve)
    expect(again).toEqual({ ...first, replayed: true })
    // the same key over REST is the same request: the same answer
    const rest = await keyed(key, `/specs/${specId}/approve`, { phase: 'requirements' })
    expect([rest.status, rest.headers.get('idempotent-replayed')]).toEqual([200, 'true'])
    const { ok: _ok, ...body } = first
    expect(rest.body).toEqual(body)

    const reused = await ask(socket, 'spec:command', { spec_id: specId, command: 'pause', idempotency_key: key })
    expect(reused).toMatchObject({ ok: false, error: { code: 'invalid_body', fields: { idempotency_key: [expect.stringMatching(/different request/)] } } })
    const bad = await ask(socket, 'spec:command', { spec_id: specId, command: 'pause', idempotency_key: 'x'.repeat(256) })
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_body', fields: { idempotency_key: [expect.any(String)] } } })

    // a request with the key still being served (here: reserved and never answered) is told when to ask again
    const busy = randomUUID()
    await stack.database.sql`insert into idempotency_keys (user_id, key, fingerprint, holder)
      values (${owner.user!.id}, ${busy}, ${commandFingerprint(specId, { command: 'pause' } as never)}, 'another request')`
    expect(await ask(socket, 'spec:command', { spec_id: specId, command: 'pause', idempotency_key: busy })).toMatchObject({
      ok: false,
      error: { code: 'conflict' },
      retry_after_s: 1,
    })
    expect((await ask(socket, 'spec:command', { spec_id: specId, command: 'resume' })).retry_after_s).toBeUndefined()

    // a refusal over the socket is replayed as the refusal
    const late = { spec_id: specId, command: 'approve', phase: 'requirements', idempotency_key: randomUUID() }
    const refused = await ask(socket, 'spec:command', late)
    expect(refused).toMatchObject({ ok: false, error: { code: 'conflict' } })
    expect(await ask(socket, 'spec:command', late)).toEqual({ ...refused, replayed: true })

    const events = await everyEvent(owner, specId)
    expect(events.filter((e) => e.type === 'spec.approved').map((e) => e.data.phase)).toEqual(['requirements'])
    expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
  }, 150_000)
})

describe('a keyed message whose first answer was lost', () => {
  it('is appended once: the retry after a 5xx finds it stored and answers its seq', async () => {
    const title = 'Keyed message'
    const hold = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'submit_exploration' && r.called.length === 1, 1)
    const specId = await launchSpec(owner, projectId, title)
    await hold.first()
    await runningSandbox(stack.database.sql, specId, { phase: 'explore' })

    // the message is appended, then storing its answer fails: the client gets a 5xx and the key is freed for a retry
    const key = `lost-answer-${randomUUID()}`
    await stack.database.sql.unsafe(`
      create function refuse_answers() returns trigger language plpgsql as $$
      begin
        if new.status is not null and new.key like 'lost-answer-%' then raise exception 'answer store refused (test)'; end if;
        return new;
      end $$;
      create trigger refuse_answers before insert or update on idempotency_keys for each row execute function refuse_answers();`)
    const first = await keyed(key, `/specs/${specId}/messages`, { text: 'only once, please' })
    await stack.database.sql.unsafe('drop trigger refuse_answers on idempotency_keys; drop function refuse_answers()')
    expect(first.status, JSON.stringify(first.body)).toBeGreaterThanOrEqual(500)

    const retry = await keyed(key, `/specs/${specId}/messages`, { text: 'only once, please' })
    expect(retry.status, JSON.stringify(retry.body)).toBe(201)
    const messages = (await everyEvent(owner, specId)).filter((e) => e.type === 'user.message' && e.data.text === 'only once, please')
    expect(messages).toHaveLength(1)
    expect(retry.body).toMatchObject({ spec_id: specId, seq: messages[0]!.seq, text: 'only once, please' })
    expect(await keyed(key, `/specs/${specId}/messages`, { text: 'only once, please' })).toMatchObject({ status: 201, body: retry.body })

    hold.release()
    expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
  }, 150_000)
})
