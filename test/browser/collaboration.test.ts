/**
 * Issue 7: the web app in a real browser against the real server (a fake model at the network edge, specs running
 * through local sandboxes). The tests in this file are one story and run in order: Ada launches a spec that Bob
 * watches, Bob reloads in the middle of the run, then the tickets reach the board; Carol, a stranger, sees nothing.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  HAS_CHROMIUM,
  inPage,
  launchBrowser,
  markPage,
  newUser,
  presenceIds,
  screenshot,
  shownSeqs,
  stepperStates,
  stillSamePage,
  type BrowserUser,
} from '../support/browser.ts'
import type { FakeModel } from '../support/fake-model.ts'
import { goodRequirements, goodTasks } from '../support/fixtures.ts'
import { startWithModel } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import type { TestServer } from '../support/server.ts'

const SUITE = HAS_CHROMIUM
  ? 'browser: two people on one spec'
  : 'browser: two people on one spec — SKIPPED: /usr/bin/chromium is not installed (apt-get install chromium)'

const IDEA_TITLE = 'Todo due dates and reminders'
const IDEA = `${IDEA_TITLE}\nLet people set a due date on a todo, reject dates in the past, and remind them before it is due.`

interface RestEvent {
  seq: number
  type: string
  data: Record<string, unknown>
}

describe.skipIf(!HAS_CHROMIUM)(SUITE, () => {
  let server: TestServer
  let model: FakeModel
  let browser: Browser
  let repo: string
  let ada: BrowserUser
  let bob: BrowserUser
  let carol: BrowserUser
  let specId: string
  let projectId: string

  /** Every event of the spec over REST (as Ada), oldest first. */
  const restEvents = async (): Promise<RestEvent[]> => {
    const res = await inPage<{ events: RestEvent[] }>(ada.page, 'GET', `/specs/${specId}/events?after_seq=0&limit=500`)
    expect(res.status).toBe(200)
    return res.body.events
  }
  /** What the timeline shows by default: everything but heartbeats. */
  const visibleSeqs = (events: RestEvent[]) => events.filter((e) => e.type !== 'agent.heartbeat').map((e) => e.seq)
  const restSpec = async () => (await inPage(ada.page, 'GET', `/specs/${specId}`)).body as { status: string; current_phase: string }
  const roomStatus = (u: BrowserUser) => u.page.getByTestId('spec-room').getAttribute('data-status')

  beforeAll(async () => {
    // Slow model answers at first, so Bob is certainly in the room before the run gets anywhere; sped up below.
    ;[{ server, model }, browser, repo] = await Promise.all([startWithModel({ delayMs: 1_000 }), launchBrowser(), makeRepo()])
    ;[ada, bob, carol] = await Promise.all([
      newUser(browser, server.url, 'Ada'),
      newUser(browser, server.url, 'Bob'),
      newUser(browser, server.url, 'Carol'),
    ])
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await model?.close()
  })

  it('Ada launches from the command page; Bob, a viewer, watches the same run live; only Ada can approve', async () => {
    const { page } = ada
    // New account, no projects: the inline project form is open on the command page.
    await page.getByTestId('command-form').waitFor()
    await page.getByTestId('project-create').waitFor()
    await page.getByTestId('project-name').fill('Todo app')
    await page.getByTestId('project-repo').fill(repo)
    await page.getByTestId('project-create-submit').click()
    await expect.poll(() => page.getByTestId('project-select').inputValue()).toMatch(/\S/)
    projectId = await page.getByTestId('project-select').inputValue()
    expect(await page.getByTestId('project-select').locator('option:checked').textContent()).toContain('Todo app')

    await page.getByTestId('idea').fill(IDEA)
    await expect.poll(() => page.getByTestId('derived-title').textContent()).toBe(IDEA_TITLE)
    await page.getByTestId('approval-manual').check()
    // Signed in means connected for live updates: the top bar says "Live".
    await page.locator('[data-testid="connection-indicator"][data-state="connected"]').waitFor()
    await screenshot(page, '01-command-page')
    await page.getByTestId('launch').click()
    await page.waitForURL(/\/specs\/spec_[0-9A-Za-z]{26}$/)
    specId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!)
    await page.getByTestId('spec-room').waitFor()
    expect(await page.getByTestId('spec-title').textContent()).toBe(IDEA_TITLE)
    expect(await page.getByTestId('spec-approval').textContent()).toBe('manual')

    // Ada invites Bob as a viewer (REST, from Ada's page: her session cookie, her origin).
    const invite = await inPage(page, 'POST', `/projects/${projectId}/members`, { email: bob.email, role: 'viewer' })
    expect(invite.status, JSON.stringify(invite.body)).toBe(201)

    await bob.page.goto(`/specs/${specId}`)
    await bob.page.getByTestId('spec-room').waitFor()
    await Promise.all([markPage(page), markPage(bob.page)])
    // Bob arrives while the run is under way, so whatever he sees later came to him live.
    expect(await roomStatus(bob)).toBe('executing')
    const bobFirstSeq = Math.max(0, ...(await shownSeqs(bob.page)))

    // Both see both of them in the room.
    const both = [ada.id, bob.id].sort()
    await expect.poll(() => presenceIds(page)).toEqual(both)
    await expect.poll(() => presenceIds(bob.page)).toEqual(both)
    await expect.poll(() => bob.page.getByTestId('presence-viewer').filter({ hasText: 'Ada' }).count()).toBe(1)
    await expect.poll(() => page.getByTestId('presence-viewer').filter({ hasText: 'Bob' }).count()).toBe(1)

    model.setScenario({ delayMs: 150 })
    await expect.poll(() => roomStatus(ada), { timeout: 45_000 }).toBe('awaiting_approval')
    await expect.poll(() => roomStatus(bob), { timeout: 5_000 }).toBe('awaiting_approval')

    // The same phases and the same events in both rooms, and exactly the log the server has.
    const expectedSteps = { explore: 'done', requirements: 'awaiting', design: 'pending', tasks: 'pending', sync: 'pending', execute: 'pending', done: 'pending' }
    expect(await stepperStates(page)).toEqual(expectedSteps)
    expect(await stepperStates(bob.page)).toEqual(expectedSteps)
    const logged = visibleSeqs(await restEvents())
    await expect.poll(() => shownSeqs(page)).toEqual(logged)
    await expect.poll(() => shownSeqs(bob.page)).toEqual(logged)
    expect(logged.filter((s) => s > bobFirstSeq).length, 'events that reached Bob after he joined').toBeGreaterThan(0)
    expect(await stillSamePage(bob.page), 'Bob never reloaded').toBe(true)

    // Both read the requirements awaiting approval.
    const reqIds = goodRequirements.requirements.map((r) => r.id)
    for (const p of [page, bob.page]) {
      await expect.poll(() => p.getByTestId('requirement').evaluateAll((els) => els.map((e) => e.getAttribute('data-req-id')))).toEqual(reqIds)
    }

    // Ada may approve; Bob is told he is watching and has no controls at all.
    await page.getByTestId('approval-callout').waitFor()
    expect(await page.getByTestId('control-approve').textContent()).toBe('Approve requirements')
    await bob.page.getByTestId('controls-readonly').waitFor()
    expect(await bob.page.getByTestId('control-approve').count()).toBe(0)
    expect(await bob.page.getByTestId('controls').getByRole('button').count()).toBe(0)
    await screenshot(page, '02-spec-room-owner-awaiting-approval')
    await screenshot(bob.page, '03-spec-room-viewer-awaiting-approval')

    // Slow the design phase down, so the next test can reload in the middle of it.
    model.setScenario({ delayMs: 1_200 })
    await page.getByTestId('control-approve').click()
    await expect.poll(() => page.getByTestId('control-status').textContent()).toBe('Approved.')

    // Bob's page shows the approval by itself: the event, the stepper, the status.
    const approved = bob.page.locator('[data-testid="event-row"][data-type="spec.approved"]')
    await approved.waitFor()
    await expect.poll(() => stepperStates(bob.page).then((s) => s.requirements)).toBe('done')
    await expect.poll(() => roomStatus(bob)).toBe('executing')
    expect(await bob.page.getByTestId('approval-callout').count()).toBe(0)
    expect(await stillSamePage(bob.page), 'Bob never reloaded').toBe(true)
    const approval = (await restEvents()).find((e) => e.type === 'spec.approved')
    expect(approval?.data).toMatchObject({ phase: 'requirements' })
    expect(await approved.getAttribute('data-seq')).toBe(String(approval!.seq))

    expect([...ada.pageErrors, ...bob.pageErrors]).toEqual([])
  }, 90_000)

  it('a reload in the middle of a run shows the full history and then continues live', async () => {
    const { page } = bob
    const before = await restSpec()
    expect(before, 'design is still running').toMatchObject({ status: 'executing', current_phase: 'design' })
    const historyBefore = visibleSeqs(await restEvents())

    await page.reload()
    await page.getByTestId('spec-room').waitFor()
    expect(await stillSamePage(page), 'the page really reloaded').toBe(false)
    await markPage(page)

    // Everything that happened before the reload is back, from the first event on.
    await expect.poll(async () => {
      const shown = new Set(await shownSeqs(page))
      return historyBefore.filter((s) => !shown.has(s))
    }).toEqual([])
    expect(Math.min(...(await shownSeqs(page)))).toBe(1)
    expect(await page.locator('[data-testid="event-row"][data-type="spec.approved"]').count()).toBe(1)
    expect(await stepperStates(page).then((s) => [s.explore, s.requirements])).toEqual(['done', 'done'])
    // What the page shows now, THEN the server still in design: so the design's approval event, whenever it comes,
    // is newer than anything shown here (read the other way round, the event could land in between).
    const lastSeenAtReload = Math.max(...(await shownSeqs(page)))
    expect(await restSpec(), 'design still running after the reload').toMatchObject({ status: 'executing', current_phase: 'design' })

    // Then it follows the run without another reload, to the design awaiting approval.
    model.setScenario({ delayMs: 150 })
    await expect.poll(() => roomStatus(bob), { timeout: 30_000 }).toBe('awaiting_approval')
    await expect.poll(() => stepperStates(page).then((s) => s.design)).toBe('awaiting')
    // Wait on the event itself: the design's awaiting_approval row, which reached the page live (after the reload).
    const designAwaits = (await restEvents()).find((e) => e.type === 'spec.awaiting_approval' && e.data.phase === 'design')
    expect(designAwaits, 'the log has the design awaiting approval').toBeDefined()
    await page.locator(`[data-testid="event-row"][data-seq="${designAwaits!.seq}"]`).waitFor()
    expect(designAwaits!.seq).toBeGreaterThan(lastSeenAtReload)
    expect(await stillSamePage(page), 'no second reload').toBe(true)
    const logged = visibleSeqs(await restEvents())
    await expect.poll(() => shownSeqs(page)).toEqual(logged)
    await expect.poll(() => shownSeqs(ada.page)).toEqual(logged)

    expect([...ada.pageErrors, ...bob.pageErrors]).toEqual([])
  }, 60_000)

  it("after SYNC the board shows Ada's tickets, to Bob as well, but not to Carol", async () => {
    const { page } = ada
    for (const phase of ['design', 'tasks'] as const) {
      await expect.poll(() => roomStatus(ada), { timeout: 30_000 }).toBe('awaiting_approval')
      const approve = page.getByTestId('control-approve')
      await expect.poll(() => approve.textContent(), { timeout: 30_000 }).toBe(`Approve ${phase}`)
      await approve.click()
      await expect.poll(() => stepperStates(page).then((s) => s[phase]), { timeout: 10_000 }).toBe('done')
    }
    // SYNC has written the tickets once the spec reached execution.
    await expect.poll(() => stepperStates(page).then((s) => s.sync), { timeout: 30_000 }).toBe('done')
    const tickets = goodTasks.tickets.map((t) => t.title).sort()

    await page.getByTestId('nav-board').click()
    await page.waitForURL(/\/board/)
    const titles = (u: BrowserUser) => u.page.getByTestId('ticket-title').allTextContents().then((t) => t.map((s) => s.trim()).sort())
    await expect.poll(() => titles(ada)).toEqual(tickets)
    const specLinks = await page.getByTestId('ticket-spec').allTextContents()
    expect(specLinks.map((s) => s.trim())).toEqual([IDEA_TITLE, IDEA_TITLE])

    await bob.page.goto('/board')
    await expect.poll(() => titles(bob)).toEqual(tickets)
    await screenshot(bob.page, '04-board-viewer')

    await carol.page.goto('/board')
    await carol.page.getByTestId('board-empty').waitFor()
    expect(await carol.page.getByTestId('board-ticket').count()).toBe(0)
    // Nor can she open the spec by its address.
    await carol.page.goto(`/specs/${specId}`)
    await carol.page.getByTestId('spec-not-found').waitFor()

    // Ada's board follows the tasks to the end: both tickets done with all their tasks.
    const done = page.getByTestId('board-column-done').getByTestId('board-ticket')
    await expect.poll(() => done.count(), { timeout: 40_000 }).toBe(2)
    expect((await page.getByTestId('board-column-done').getByTestId('ticket-progress').allTextContents()).map((s) => s.trim())).toEqual([
      '2/2 tasks',
      '2/2 tasks',
    ])
    await screenshot(page, '05-board-owner-done')

    await page.goto(`/specs/${specId}`)
    await expect.poll(() => roomStatus(ada), { timeout: 30_000 }).toBe('completed')
    expect(Object.values(await stepperStates(page))).toEqual(Array(7).fill('done'))
    // The Tasks tab shows the plan with every task's live status.
    const planTasks = page.getByTestId('plan-task')
    await expect
      .poll(() => planTasks.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-task-id')}:${e.getAttribute('data-status')}`)))
      .toEqual(goodTasks.tasks.map((t) => `${t.id}:completed`))
    await screenshot(page, '06-spec-room-completed')

    expect([...ada.pageErrors, ...bob.pageErrors, ...carol.pageErrors]).toEqual([])
  }, 90_000)
})
