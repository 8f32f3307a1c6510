import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { asUser, type Api } from '../support/api.ts'
import { ownerOf as clusterOwnerOf, TestCluster } from '../support/cluster.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { allEvents, launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { connect, connected, SpecView, type TestSocket } from '../support/socket-client.ts'
import { waitFor } from '../support/wait.ts'

/**
 * Jepsen-style: 3 nodes behind one URL, 6 specs, steering commands through the proxy (so mostly to nodes that do not own
 * the spec), an owner killed with SIGKILL and another paused with SIGSTOP past its lease, then woken up. The history
 * must show one writer per spec: versions only grow, one end per spec, one sandbox per (phase or task, attempt,
 * generation), a gapless log, and every viewer's stream equal to that log. PostgreSQL only (a cluster needs it).
 */
const enabled = !!process.env.DATABASE_URL
const SPECS = 6

let database: Database
let model: FakeModel
let cluster: TestCluster
let owner: Api
let viewerSocket: TestSocket
const views = new Map<string, SpecView>()

beforeAll(async () => {
  if (!enabled) return
  ;[database, model] = await Promise.all([freshDatabase(), startFakeModel({ delayMs: 120, skipBadSubmit: true })])
  // the stored version of every spec, as each write changed it: the history the invariants are checked on
  await database.sql.unsafe(`
    create table version_history (spec_id text, old bigint, new bigint, owner text, at timestamptz default clock_timestamp());
    create function record_version() returns trigger language plpgsql as $$
    begin
      if new.version is distinct from old.version then
        insert into version_history (spec_id, old, new, owner) values (new.spec_id, old.version, new.version, new.owner_node);
      end if;
      return new;
    end $$;
    create trigger record_version after update on spec_actors for each row execute function record_version();`)
  cluster = await TestCluster.start(3, {
    DATABASE_URL: database.url,
    ANTHROPIC_API_KEY: 'test-key',
    ANTHROPIC_BASE_URL: model.url,
    OMOI_SILENCE_MS: '20000',
  })
  owner = await asUser(cluster.url, 'Owner')
}, 180_000)

/** Steering goes on until the test is done with it, or failed. */
let steering = false

afterAll(async () => {
  steering = false
  viewerSocket?.disconnect()
  await cluster?.stop()
  await model?.close()
  await database?.close()
})

const ownerOf = (specId: string) => clusterOwnerOf(database.sql, specId)
const ended = async (specId: string) => (await database.sql`select final from spec_actors where spec_id = ${specId}`)[0]?.final === true
const lastSeq = async (specId: string) => Number((await database.sql`select coalesce(max(seq), 0) as n from sandbox_events where spec_id = ${specId}`)[0]!.n)
/** The error lines the nodes logged, for a failure message. */
const serverErrors = () =>
  cluster.nodes
    .flatMap((n) => n.process.output().split('\n').filter((l) => l.includes('"level":"error"')).map((l) => `${n.id}: ${l.slice(0, 2000)}`))
    .join('\n')

/** Every steering request and its answer, per spec: for the failure message. */
const journal = new Map<string, string[]>()
const note = (specId: string, line: string) => journal.set(specId, [...(journal.get(specId) ?? []), `${new Date().toISOString()} ${line}`])
/** What the nodes logged about one spec (warnings and errors included). */
const nodeLines = (specId: string) =>
  cluster.nodes.flatMap((n) => n.process.output().split('\n').filter((l) => l.includes(specId)).map((l) => `${n.id}: ${l.slice(0, 600)}`))

/** What a spec that did not end went through: for the failure message. */
async function story(specId: string): Promise<string> {
  const [actor] = await database.sql`select owner_node, epoch, version, state, lease_expires_at > now() as live from spec_actors where spec_id = ${specId}`
  const boxes = await database.sql`select id, coalesce(phase, task_id) as work, attempt, generation, status, end_reason from sandboxes where spec_id = ${specId} order by created_at`
  const events = await database.sql`select seq, type, data from sandbox_events where spec_id = ${specId} and type <> 'agent.heartbeat' order by seq desc limit 12`
  // who holds what in the database now (a node stopped inside a transaction keeps its locks until the server ends it)
  const sessions = await database.sql`
    select pid, state, now() - state_change as for, left(query, 160) as query from pg_stat_activity
    where datname = current_database() and state <> 'idle' and pid <> pg_backend_pid()`
  return JSON.stringify({ actor, boxes, events: events.reverse(), steering: journal.get(specId), nodes: nodeLines(specId), sessions }, null, 1)
}
/** `promise`, its failure explained by the spec's story. */
const explained = <T>(specId: string, promise: Promise<T>): Promise<T> =>
  promise.catch(async (err: Error) => {
    throw new Error(`${err.message}\n${await story(specId)}`)
  })
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!

/**
 * Resumes the spec if it is paused, until a node answers that it runs (or has ended). A 502 of the proxy (no node could
 * answer) is no answer: it asks again.
 */
async function unpause(id: string): Promise<void> {
  await waitFor(
    async () => {
      const spec = await owner.get(`/specs/${id}`)
      note(id, `get → ${spec.status} ${spec.body?.status}`)
      if (spec.status !== 200) return false
      if (spec.body.status !== 'paused') return true
      const resume = await owner.post(`/specs/${id}/resume`)
      note(id, `resume → ${resume.status} ${resume.body?.status ?? JSON.stringify(resume.body)}`)
      return resume.status === 200
    },
    { timeoutMs: 120_000, intervalMs: 200, what: `spec ${id} to resume` },
  )
}

/**
 * Pause and resume random specs through the proxy (any node) until `stop` says so. Whatever a pause was answered, it
 * may have landed (a node that applied it died before answering, and the proxy asked another, which found it paused
 * already): every spec is resumed after each try.
 */
async function steer(ids: string[], stop: () => boolean): Promise<number> {
  let answered = 0
  while (!stop()) {
    const id = pick(ids)
    const paused = await owner.post(`/specs/${id}/pause`)
    note(id, `pause → ${paused.status} ${paused.body?.status ?? JSON.stringify(paused.body)}`)
    if (paused.status === 200) answered++
    // 502/504: the test's load balancer found no node to answer (one killed, one paused, one starting), or one stopped
    // answering: its answer, not a node's
    else expect([409, 502, 503, 504], `pause answered ${paused.status} ${JSON.stringify(paused.body)}\n${serverErrors()}`).toContain(paused.status)
    await unpause(id)
    await new Promise((resolve) => setTimeout(resolve, 400))
  }
  return answered
}

/** Waits until some spec owned by one of `nodes` exists; answers that node. */
async function ownerAmong(ids: string[], nodes: string[]): Promise<string> {
  return waitFor(
    async () => {
      for (const id of ids) {
        const node = await ownerOf(id)
        const spec = (await owner.get(`/specs/${id}`)).body
        if (node && nodes.includes(node) && spec.status === 'executing') return node
      }
      return null
    },
    { timeoutMs: 60_000, intervalMs: 200, what: `a running spec owned by one of ${nodes.join(', ')}` },
  )
}

describe('a cluster under kill -9 and long pauses', () => {
  it.skipIf(!enabled)('every spec ends exactly once, versions only grow, no sandbox runs twice, viewers see the log', async () => {
    const project = (await owner.post('/projects', { name: 'Chaos', repo_url: await makeRepo() })).body
    // specs are launched on the node they should start on (a launch runs where it lands): node-1's are there to be
    // killed under, node-2's (launched later, so still running then) to be paused under; one more through the proxy
    const on = (id: string) => cluster.on(id, owner)
    const ids: string[] = []
    for (let i = 1; i <= SPECS - 3; i++) ids.push(await launchSpec(on('node-1'), project.id, `Chaos ${i}`))
    ids.push(await launchSpec(owner, project.id, `Chaos ${SPECS - 2}`))

    // the viewer stays on node-3, which the chaos leaves alone; it rejoins after every reconnect with the last seq it saw
    viewerSocket = connect(cluster.node('node-3').url, { token: owner.token! })
    await connected(viewerSocket, 60_000)
    for (const id of ids) views.set(id, new SpecView(viewerSocket, id))
    await Promise.all([...views.values()].map((v) => v.join()))
    viewerSocket.io.on('reconnect', () => void Promise.all([...views.values()].map((v) => v.join(v.lastSeq))))

    steering = true
    const steered = steer(ids, () => !steering)

    // 1. kill -9 of an owner: its specs move on within the lease, nothing of theirs is lost
    const killed = await ownerAmong(ids, ['node-1'])
    // a spec that has already ended writes nothing more, whoever owned it
    const orphans = (await Promise.all(ids.map(async (id) => ((await ownerOf(id)) === killed && !(await ended(id)) ? id : null)))).filter(
      (id) => id !== null,
    )
    const seqsAtKill = new Map(await Promise.all(orphans.map(async (id) => [id, await lastSeq(id)] as const)))
    await cluster.kill(killed)
    for (const id of orphans) {
      await explained(id, waitFor(async () => (await ownerOf(id)) !== killed || (await owner.get(`/specs/${id}`)).body.status !== 'executing', {
        timeoutMs: 45_000,
        intervalMs: 200,
        what: `spec ${id} to be taken over from ${killed}`,
      }))
      await explained(id, waitFor(async () => (await lastSeq(id)) > seqsAtKill.get(id)!, { timeoutMs: 60_000, intervalMs: 200, what: `a new event of ${id}` }))
    }
    await cluster.startNode(killed)

    // 2. an owner paused past its lease: the others take its specs; woken up, it must notice and write nothing
    for (let i = SPECS - 1; i <= SPECS; i++) {
      const id = await launchSpec(on('node-2'), project.id, `Chaos ${i}`)
      ids.push(id)
      views.set(id, new SpecView(viewerSocket, id))
      await views.get(id)!.join()
    }
    const paused = await ownerAmong(ids, ['node-2'])
    const held = (await Promise.all(ids.map(async (id) => ((await ownerOf(id)) === paused ? id : null)))).filter((id) => id !== null)
    cluster.pause(paused)
    for (const id of held) {
      await explained(id, waitFor(async () => (await ownerOf(id)) !== paused || (await owner.get(`/specs/${id}`)).body.status !== 'executing', {
        timeoutMs: 45_000,
        intervalMs: 200,
        what: `spec ${id} to be taken over from the paused ${paused}`,
      }))
    }
    cluster.resume(paused)

    steering = false
    expect(await steered).toBeGreaterThan(0)
    // a pause sent to the paused node is served when it wakes up, after steering moved on: resume what is paused
    for (const id of ids) await unpause(id)
    for (const id of ids) {
      const spec = await explained(id, waitForStatus(owner, id, ['completed', 'failed', 'cancelled'], 180_000))
      expect(spec.status, await story(id)).toBe('completed')
    }

    const history = await database.sql<{ spec_id: string; old: number; new: number; owner: string }[]>`
      select spec_id, old, new, owner from version_history order by at`
    expect(history.filter((h) => Number(h.new) <= Number(h.old))).toEqual([])
    // two sandboxes of one (phase or task, attempt, generation) alive at the same time = two writers of one piece of work
    const dupes = await database.sql`
      select a.spec_id, coalesce(a.task_id, a.phase) as work, a.attempt, a.generation, a.id as first, b.id as second
      from sandboxes a join sandboxes b on a.spec_id = b.spec_id and a.id < b.id
        and coalesce(a.task_id, a.phase) = coalesce(b.task_id, b.phase) and a.attempt = b.attempt and a.generation = b.generation
      where a.spec_id = any(${ids})
        and a.created_at < coalesce(b.ended_at, 'infinity') and b.created_at < coalesce(a.ended_at, 'infinity')`
    expect(dupes).toEqual([])
    for (const id of ids) {
      const log = await allEvents(owner, id)
      expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1))
      expect(log.filter((e) => e.type === 'spec.execution_completed')).toHaveLength(1)
      expect(log.filter((e) => e.type === 'spec.execution_failed')).toHaveLength(0)
      expect(views.get(id)!.stream, `viewer of ${id}`).toEqual(await views.get(id)!.settle(() => allEvents(owner, id)))
    }
  }, 600_000)
})
