import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/connect.ts'
import { asUser } from '../support/api.ts'
import { freshDatabase } from '../support/db.ts'
import { startFakeModel, type FakeModel } from '../support/fake-model.ts'
import { allEvents } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { startTestServer, type TestServer } from '../support/server.ts'
import { connect, connected, seqs, SpecView } from '../support/socket-client.ts'
import { waitFor } from '../support/wait.ts'

let database: Database
let model: FakeModel
const servers: TestServer[] = []

beforeAll(async () => {
  ;[database, model] = await Promise.all([freshDatabase(), startFakeModel({ delayMs: 60 })])
})
afterAll(async () => {
  for (const s of servers) await s.close()
  await model?.close()
  await database?.close()
})

describe('a viewer across a server restart', () => {
  it('rejoins with after_seq and gets exactly the events it missed, then the restored actor’s live ones', async () => {
    const env = { ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: model.url }
    const first = await startTestServer(env, { database })
    servers.push(first)
    const owner = await asUser(first.url, 'Owner')
    const project = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body
    const specId = (await owner.post('/specs/launch', { project_id: project.id, title: 'Restart', description: 'survive a restart' })).body.spec_id

    const socket = connect(first.url, { token: owner.token! })
    await connected(socket)
    const view = new SpecView(socket, specId)
    await view.join()
    await view.waitForCount(6)
    const gone = new Promise((resolve) => socket.once('disconnect', resolve))
    await first.close()
    await gone
    const seen = view.lastSeq

    // same port (the running sandbox calls back there) and data directory, same database
    const second = await startTestServer({ ...env, PORT: String(first.port) }, { database, dataDir: first.dataDir })
    servers.push(second)
    await waitFor(async () => (await allEvents(owner, specId)).length >= seen + 3, { what: 'the restored actor to go on' })

    await connected(socket)
    const answer = await view.join(seen)
    expect(answer.events[0]!.seq).toBe(seen + 1)
    await view.waitForType('spec.execution_completed', 60_000)
    const log = await view.settle(() => allEvents(owner, specId))
    expect(seqs(log)).toEqual(log.map((_, i) => i + 1))
    expect(view.stream).toEqual(log)
    socket.disconnect()
  }, 90_000)
})
