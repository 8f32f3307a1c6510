/**
 * Issue 14 in a real browser: a room that never goes stale across a dropped connection, the Sync coverage table,
 * documents to download, budgets, members (a removed person's open room closes live; an invitation is withdrawn), and
 * every page checked with axe at 1440 and 390 px under the app's own Content-Security-Policy. One story, in order.
 */
import { readFile } from 'node:fs/promises'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ulid } from '../../src/ids.ts'
import { asUser, type Api } from '../support/api.ts'
import { checkPage, HAS_CHROMIUM, inPage, launchBrowser, markPage, newUser, shownSeqs, stepperStates, stillSamePage, type BrowserUser } from '../support/browser.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { goodRequirements, goodTasks } from '../support/fixtures.ts'
import { startWithModel, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import type { TestServer } from '../support/server.ts'

const SUITE = HAS_CHROMIUM ? 'browser: a web app people trust' : 'browser: a web app people trust — SKIPPED: /usr/bin/chromium is not installed'
const ADMIN_EMAIL = `ada-${ulid().toLowerCase()}@example.com`

describe.skipIf(!HAS_CHROMIUM)(SUITE, () => {
  let server: TestServer
  let model: FakeModel
  let browser: Browser
  let ada: BrowserUser
  let bob: BrowserUser
  let dan: Api
  let projectId: string
  let specId: string

  const roomStatus = (u: BrowserUser) => u.page.getByTestId('spec-room').getAttribute('data-status')
  const restEvents = async (id: string) => {
    const res = await dan.get(`/specs/${id}/events?after_seq=0&limit=500`)
    return res.body.events as { seq: number; type: string }[]
  }

  beforeAll(async () => {
    let repo: string
    ;[{ server, model }, browser, repo] = await Promise.all([
      startWithModel({ delayMs: 50 }, { OMOI_ADMIN_EMAILS: ADMIN_EMAIL }),
      launchBrowser(),
      makeRepo(),
    ])
    ;[ada, bob, dan] = await Promise.all([
      newUser(browser, server.url, 'Ada', () => ADMIN_EMAIL),
      newUser(browser, server.url, 'Bob'),
      asUser(server.url, 'Dan'),
    ])
    const created = await inPage(ada.page, 'POST', '/projects', { name: 'Todo app', repo_url: repo })
    projectId = created.body.id
    expect((await inPage(ada.page, 'POST', `/projects/${projectId}/members`, { email: dan.user!.email, role: 'editor' })).status).toBe(201)
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await model?.close()
  })

  it('members: Ada adds Bob on the project page; removing him closes his open room at once', async () => {
    const draft = await inPage(ada.page, 'POST', '/specs', { project_id: projectId, title: 'Watched by Bob', description: 'a draft' })
    const { page } = ada
    await page.goto(`/projects/${projectId}`)
    await page.getByTestId('project-page').waitFor()
    await page.getByTestId('member-email').fill(bob.email)
    await page.getByTestId('member-add').click()
    const bobRow = page.locator(`[data-testid="member"][data-user-id="${bob.id}"]`)
    await bobRow.waitFor()
    expect(await bobRow.getAttribute('data-role')).toBe('viewer')
    await page.getByTestId('specs-list').waitFor()
    await checkPage(page, 'project-page')

    await bob.page.goto(`/specs/${draft.body.id}`)
    await bob.page.getByTestId('spec-room').waitFor()
    await markPage(bob.page)
    await bobRow.getByTestId('member-remove').click()
    await expect.poll(() => bobRow.count()).toBe(0)
    await bob.page.getByTestId('spec-access-revoked').waitFor({ timeout: 5_000 })
    expect(await bob.page.getByTestId('spec-room').count()).toBe(0)
    expect(await stillSamePage(bob.page), 'Bob did not reload').toBe(true)
    await checkPage(bob.page, 'spec-access-revoked')
  }, 60_000)

  it('members: Ada invites an email without an account, then withdraws the invitation from the list', async () => {
    const { page } = ada
    const email = `erin-${ulid().toLowerCase()}@example.com`
    await page.goto(`/projects/${projectId}`)
    await page.getByTestId('project-page').waitFor()
    await page.getByTestId('member-email').fill(email)
    await page.getByTestId('member-add').click()
    const row = page.locator(`[data-testid="invitation"][data-email="${email}"]`)
    await row.waitFor()
    await checkPage(page, 'project-page-invitation')

    await row.getByTestId('invitation-withdraw').click()
    await expect.poll(() => row.count()).toBe(0)
    expect(await page.getByTestId('members-status').textContent()).toBe(`The invitation for ${email} was withdrawn.`)
    expect((await inPage(page, 'GET', `/projects/${projectId}/members`)).body.invitations).toEqual([])
  }, 60_000)

  it('offline across approvals and task completions, the room comes back matching GET /specs/:id and the log', async () => {
    const { page } = ada
    const launched = await inPage(page, 'POST', '/specs/launch', {
      project_id: projectId,
      title: 'Todo due dates',
      description: 'Let people set a due date on a todo.',
      approval: 'manual',
    })
    specId = launched.body.spec_id
    await page.goto(`/specs/${specId}`)
    await expect.poll(() => roomStatus(ada), { timeout: 30_000 }).toBe('awaiting_approval')
    await page.getByTestId('control-approve').waitFor()
    await checkPage(page, 'spec-room-awaiting-approval')
    await markPage(page)

    // Ada drops off: no network, and her socket is cut, so nothing reaches her page until she is back.
    await ada.context.setOffline(true)
    for (const s of await server.io.of('/').fetchSockets()) if (s.data.user.id === ada.id) s.disconnect(true)
    await page.locator('[data-testid="connection-indicator"]:not([data-state="connected"])').waitFor()
    // A click while offline fails with a message…
    await page.getByTestId('control-approve').click()
    await page.getByTestId('control-error').waitFor()

    // …while Dan, an editor, approves every phase and the tasks run to the end.
    for (const phase of ['requirements', 'design', 'tasks']) {
      const spec = await waitForStatus(dan, specId, ['awaiting_approval'], 60_000)
      expect(spec.phases.find((p: { status: string }) => p.status === 'awaiting_approval')?.phase ?? phase).toBe(phase)
      expect((await dan.post(`/specs/${specId}/approve`, { phase })).status).toBe(200)
    }
    await waitForStatus(dan, specId, ['completed'], 90_000)
    expect(await page.getByTestId('connection-indicator').getAttribute('data-state'), 'still offline').not.toBe('connected')

    await ada.context.setOffline(false)
    await page.locator('[data-testid="connection-indicator"][data-state="connected"]').waitFor({ timeout: 20_000 })
    await expect.poll(() => roomStatus(ada), { timeout: 10_000 }).toBe('completed')
    expect(await stillSamePage(page), 'no reload').toBe(true)

    // The same spec as the server has, the same log, and nothing stale on screen.
    const rest = (await dan.get(`/specs/${specId}`)).body
    expect(await page.getByTestId('spec-status').textContent()).toContain('completed')
    expect(Object.values(await stepperStates(page))).toEqual(Array(7).fill('done'))
    const logged = (await restEvents(specId)).filter((e) => e.type !== 'agent.heartbeat').map((e) => e.seq)
    await expect.poll(() => shownSeqs(page)).toEqual(logged)
    expect(Math.max(...logged)).toBe(rest.last_seq)
    expect(await page.getByTestId('control-error').count(), 'the offline refusal is gone').toBe(0)
    expect(await page.getByTestId('approval-callout').count()).toBe(0)

    await page.getByTestId('artifact-tab-design').click()
    await page.getByTestId('artifact-design').waitFor()
    expect(await page.getByTestId('artifact-design-empty').count()).toBe(0)
    await page.getByTestId('artifact-tab-tasks').click()
    await expect
      .poll(() => page.getByTestId('plan-task').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-task-id')}:${e.getAttribute('data-status')}`)))
      .toEqual(goodTasks.tasks.map((t) => `${t.id}:completed`))
    await checkPage(page, 'spec-room-completed')
  }, 180_000)

  it('the Sync tab shows the coverage table, requirements show REQ-n.m criteria, and documents download as markdown', async () => {
    const { page } = ada
    await page.getByTestId('artifact-tab-sync').click()
    await page.getByTestId('coverage-table').waitFor()
    expect(await page.getByTestId('coverage-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-req-id')))).toEqual(
      goodRequirements.requirements.map((r) => r.id),
    )
    for (const cell of await page.getByTestId('coverage-row').getByTestId('coverage-tasks').allTextContents()) expect(cell).toMatch(/TSK-\d{3}/)
    await checkPage(page, 'spec-room-sync')

    await page.getByTestId('artifact-tab-requirements').click()
    const first = goodRequirements.requirements[0]!
    await page.locator(`[data-testid="criterion"][data-criterion-id="${first.id}.1"]`).waitFor()
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('artifact-download').click()])
    expect(download.suggestedFilename()).toBe('requirements.md')
    const text = await readFile((await download.path())!, 'utf8')
    expect(text).toContain(`### Requirement 1: ${first.title} (${first.id})`)
    expect(text).toContain(`**${first.id}.1** ${first.acceptance_criteria[0]}`)
    await checkPage(page, 'spec-room-requirements')
  }, 60_000)

  it('over budget the room says so; raising the budget makes Resume work', async () => {
    const { page } = ada
    const launched = await inPage(page, 'POST', '/specs/launch', { project_id: projectId, title: 'Tiny budget', description: 'x', budget_usd: 0.0001 })
    await page.goto(`/specs/${launched.body.spec_id}`)
    await expect.poll(() => roomStatus(ada), { timeout: 30_000 }).toBe('paused')
    await page.getByTestId('budget-exceeded').waitFor()
    await checkPage(page, 'spec-room-over-budget')
    await page.getByTestId('budget-edit').click()
    await page.getByTestId('budget-input').fill('50')
    await page.getByTestId('budget-save').click()
    await expect.poll(() => page.getByTestId('budget-text').textContent()).toContain('of $50.00')
    await page.getByTestId('control-resume').click()
    await expect.poll(() => page.getByTestId('control-status').textContent()).toBe('Resumed.')
    // The Resume button is gone with the paused status; focus stays in the controls, not on the page's body.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('controls-title')
    await expect.poll(() => roomStatus(ada), { timeout: 60_000 }).toBe('completed')
  }, 120_000)

  it('every other page passes axe at 1440 and 390 px, with an h1, under the CSP', async () => {
    const { page } = ada
    for (const [path, name, ready] of [
      ['/', 'command-page', '[data-testid="command-form"]'],
      ['/board', 'board', '[data-testid="board-column-done"] [data-testid="board-ticket"]'],
      ['/admin', 'admin', '[data-testid="actors-table"], [data-testid="actors-empty"]'],
      ['/no/such/page', 'not-found', '[data-testid="not-found"]'],
    ] as const) {
      await page.goto(path)
      await page.locator(ready).first().waitFor() // rendered by the app once its script ran, not at `load`
      expect(await page.locator('h1').count(), `${name} has one h1`).toBe(1)
      await checkPage(page, name)
    }
    // On a phone the board opens on the first column with tickets (all of Ada's are done), not on an empty backlog.
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto('/board')
    const done = page.getByTestId('board-column-done')
    await done.getByTestId('board-ticket').first().waitFor()
    await expect
      .poll(() => done.evaluate((col) => { const r = col.getBoundingClientRect(); return r.left >= 0 && r.left < window.innerWidth / 2 }))
      .toBe(true)
    await page.setViewportSize({ width: 1360, height: 900 })

    const signedOut = await browser.newContext({ baseURL: server.url, viewport: { width: 1360, height: 900 } })
    const out = await signedOut.newPage()
    for (const [path, name] of [
      ['/login', 'login'],
      ['/signup', 'signup'],
    ] as const) {
      await out.goto(path)
      await out.getByTestId('auth-submit').waitFor()
      expect(await out.locator('h1').count()).toBe(1)
      await checkPage(out, name)
    }
    await signedOut.close()
    expect([...ada.cspViolations, ...bob.cspViolations]).toEqual([])
    expect([...ada.pageErrors, ...bob.pageErrors]).toEqual([])
  }, 90_000)
})
