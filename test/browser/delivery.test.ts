/**
 * The web part of issue 17, against CONTRACT §4's shapes: a spec with a `delivery` shows it, and the Changes tab lists
 * the files of GET /specs/:id/diff and renders a file's patch with diff2html. The server side of delivery is built
 * elsewhere; here the browser's own traffic is given those shapes (the join answer over the real socket gains a
 * `delivery`, the diff routes answer fixed bodies), so what is tested is the rendering, and that nothing shows without.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkPage, HAS_CHROMIUM, inPage, launchBrowser, newUser, type BrowserUser } from '../support/browser.ts'
import { startTestServer, type TestServer } from '../support/server.ts'

const SUITE = HAS_CHROMIUM ? 'browser: delivery and changes' : 'browser: delivery and changes — SKIPPED: /usr/bin/chromium is not installed'

const DELIVERY = {
  branch: 'omoi/abc/spec',
  base: 'main',
  commit: '0123456789abcdef0123456789abcdef01234567',
  check: { command: 'npm test', passed: true, duration_ms: 1500 },
  files_changed: 1,
  insertions: 2,
  deletions: 1,
  pull_request: { url: 'https://github.example/acme/todo/pull/7', number: 7 },
}
const DIFF = { files: [{ path: 'src/greet.js', status: 'modified', additions: 2, deletions: 1 }], insertions: 2, deletions: 1 }
const PATCH = `diff --git a/src/greet.js b/src/greet.js
index 1111111..2222222 100644
--- a/src/greet.js
+++ b/src/greet.js
@@ -1,2 +1,3 @@
-export const greet = (name) => 'Hi ' + name
+export const greet = (name) => \`Hello, \${name}!\`
+export const shout = (name) => greet(name).toUpperCase()
 export default greet
`

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

  const draftSpec = async (title: string) => {
    const project = await inPage(ada.page, 'POST', '/projects', { name: `P ${title}` })
    return (await inPage(ada.page, 'POST', '/specs', { project_id: project.body.id, title, description: 'x' })).body.id as string
  }

  it('without a delivery the room shows neither the panel nor the Changes tab', async () => {
    const id = await draftSpec('Not delivered')
    await ada.page.goto(`/specs/${id}`)
    await ada.page.getByTestId('spec-room').waitFor()
    expect(await ada.page.getByTestId('delivery-panel').count()).toBe(0)
    expect(await ada.page.getByTestId('artifact-tab-changes').count()).toBe(0)
  })

  it('with one it shows branch, check and pull request, and the diff of a file', async () => {
    const id = await draftSpec('Delivered')
    const { page } = ada
    // Socket.IO acks travel as "43<id>[answer]": the join answer's spec gains the contract's delivery.
    await page.routeWebSocket(/\/socket\.io\//, (ws) => {
      const upstream = ws.connectToServer()
      upstream.onMessage((message) => {
        const m = typeof message === 'string' ? /^43(\d+)(\[.*)$/s.exec(message) : null
        if (m) {
          const answer = JSON.parse(m[2]!)
          if (answer[0]?.spec?.id === id) {
            answer[0].spec.delivery = DELIVERY
            return ws.send(`43${m[1]}${JSON.stringify(answer)}`)
          }
        }
        ws.send(message)
      })
    })
    await page.route(`**/api/v1/specs/${id}/diff**`, (route) => {
      const url = new URL(route.request().url())
      if (url.searchParams.get('format') === 'patch') {
        expect(url.searchParams.get('path')).toBe('src/greet.js')
        return route.fulfill({ status: 200, contentType: 'text/x-diff', body: PATCH })
      }
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(DIFF) })
    })

    await page.goto(`/specs/${id}`)
    await page.getByTestId('delivery-panel').waitFor()
    expect(await page.getByTestId('delivery-branch').textContent()).toBe('omoi/abc/spec')
    expect(await page.getByTestId('delivery-check').getAttribute('data-passed')).toBe('true')
    expect(await page.getByTestId('delivery-pr').getAttribute('href')).toBe(DELIVERY.pull_request.url)
    expect(await page.getByTestId('delivery-size').textContent()).toContain('1 file, +2 −1')

    await page.getByTestId('artifact-tab-changes').click()
    await page.getByTestId('changes-file').waitFor()
    expect(await page.getByTestId('changes-summary').textContent()).toBe('1 file, +2 −1')
    await page.getByTestId('changes-file').click()
    const diff = page.getByTestId('changes-diff')
    await diff.locator('.d2h-file-wrapper').waitFor()
    // Added and removed lines are marked as such by the viewer.
    const added = await diff.locator('.d2h-ins .d2h-code-line-ctn').allTextContents()
    const removed = await diff.locator('.d2h-del .d2h-code-line-ctn').allTextContents()
    expect(added.map((l) => l.trim())).toEqual(['export const greet = (name) => `Hello, ${name}!`', 'export const shout = (name) => greet(name).toUpperCase()'])
    expect(removed.map((l) => l.trim())).toEqual(["export const greet = (name) => 'Hi ' + name"])
    await checkPage(page, 'spec-room-changes')
    expect([...ada.pageErrors, ...ada.cspViolations]).toEqual([])
  }, 60_000)
})
