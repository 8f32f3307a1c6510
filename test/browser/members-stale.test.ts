import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ulid } from '../../src/ids.ts'
import { HAS_CHROMIUM, inPage, launchBrowser, newUser, type BrowserUser } from '../support/browser.ts'
import { makeRepo } from '../support/repo.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

/**
 * The members list of a page opened before a change made elsewhere (another tab): acting on a row that is gone says so
 * and shows the list as it now is, instead of keeping the stale row and its button.
 */
describe.skipIf(!HAS_CHROMIUM)('browser: a stale members list', () => {
  let server: TestServer
  let browser: Browser
  let ada: BrowserUser
  let projectId: string

  beforeAll(async () => {
    let repo: string
    ;[server, browser, repo] = await Promise.all([startTestServer(), launchBrowser(), makeRepo()])
    ada = await newUser(browser, server.url, 'Ada')
    projectId = (await inPage(ada.page, 'POST', '/projects', { name: 'Stale', repo_url: repo })).body.id
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it('withdrawing an invitation already withdrawn in another tab drops the row and says why', async () => {
    const { page } = ada
    const email = `gus-${ulid().toLowerCase()}@example.com`
    expect((await inPage(page, 'POST', `/projects/${projectId}/members`, { email, role: 'viewer' })).status).toBe(201)
    await page.goto(`/projects/${projectId}`)
    const row = page.locator(`[data-testid="invitation"][data-email="${email}"]`)
    await row.waitFor()

    // the other tab
    expect((await inPage(page, 'DELETE', `/projects/${projectId}/invitations/${encodeURIComponent(email)}`)).status).toBe(204)

    await row.getByTestId('invitation-withdraw').click()
    await expect.poll(() => page.getByTestId('members-error').textContent()).toContain(`no open invitation for ${email}`)
    await expect.poll(() => row.count(), { message: 'the stale invitation row is still shown with its Withdraw button' }).toBe(0)
    expect(ada.pageErrors).toEqual([])
  }, 60_000)
})
