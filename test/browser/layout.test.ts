/** Issue 14 case 10: long unbroken words wrap instead of widening the page, at desktop and phone widths. */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkPage, HAS_CHROMIUM, inPage, launchBrowser, newUser, type BrowserUser } from '../support/browser.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

const SUITE = HAS_CHROMIUM ? 'browser: layout' : 'browser: layout — SKIPPED: /usr/bin/chromium is not installed'

describe.skipIf(!HAS_CHROMIUM)(SUITE, () => {
  let server: TestServer
  let browser: Browser
  let ada: BrowserUser

  beforeAll(async () => {
    ;[server, browser] = await Promise.all([startTestServer(), launchBrowser()])
    ada = await newUser(browser, server.url, 'Ada')
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  it('a 300-character unbroken title wraps in the spec room and the project page (checkPage fails on any overflow)', async () => {
    const title = 'x'.repeat(300)
    const project = await inPage(ada.page, 'POST', '/projects', { name: 'y'.repeat(200) })
    const spec = await inPage(ada.page, 'POST', '/specs', { project_id: project.body.id, title, description: 'a very long title' })
    expect(spec.status).toBe(201)
    await ada.page.goto(`/specs/${spec.body.id}`)
    await ada.page.getByTestId('spec-room').waitFor()
    expect(await ada.page.getByTestId('spec-title').textContent()).toBe(title)
    await checkPage(ada.page, 'spec-room-long-title')
    await ada.page.goto(`/projects/${project.body.id}`)
    await ada.page.getByTestId('project-spec').waitFor()
    await checkPage(ada.page, 'project-page-long-names')
  }, 60_000)
})
