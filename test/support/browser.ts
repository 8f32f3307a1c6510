/**
 * Browser tests: playwright-core driving Debian's chromium (never a downloaded browser). One browser per test file,
 * one context (own cookies, own socket) per user, sign-up through the UI, and screenshots a person can look at.
 */
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { ulid } from '../../src/ids.ts'

export const CHROMIUM_PATH = '/usr/bin/chromium'
/** False where chromium is not installed; the browser suites skip themselves then (CI installs it). */
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH)

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/** Where screenshots go (git-ignored with the rest of test-results/). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url))

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS })
}

export interface BrowserUser {
  name: string
  email: string
  id: string
  context: BrowserContext
  page: Page
  /** Uncaught exceptions thrown in the page: a user would see a broken page, so tests expect none. */
  pageErrors: string[]
  /** Content-Security-Policy violations the browser reported: the app must run under its own policy. */
  cspViolations: string[]
}

/** A fresh context (own cookies, hence own session and socket) with one page, signed up as `name` through the UI. */
export async function newUser(browser: Browser, baseUrl: string, name: string, emailFor?: (name: string) => string): Promise<BrowserUser> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1360, height: 900 } })
  context.setDefaultTimeout(20_000)
  const page = await context.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`))
  const cspViolations: string[] = []
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(`${name}: ${msg.text()}`)
  })
  const { email, id } = await signUp(page, name, emailFor?.(name))
  return { name, email, id, context, page, pageErrors, cspViolations }
}

/**
 * Signs up through the sign-up form and waits until the app shows the person as signed in.
 * Returns the email used and the new user's id (as GET /auth/me answers it).
 */
export async function signUp(page: Page, name: string, email = `${name.toLowerCase()}-${ulid().toLowerCase()}@example.com`): Promise<{ email: string; id: string }> {
  await page.goto('/signup')
  await page.getByTestId('auth-name').fill(name)
  await page.getByTestId('auth-email').fill(email)
  await page.getByTestId('auth-password').fill('correct horse battery')
  await page.getByTestId('auth-submit').click()
  await page.getByTestId('current-user').getByText(name, { exact: true }).waitFor()
  const me = await inPage<{ user: { id: string } }>(page, 'GET', '/auth/me')
  return { email, id: me.body.user.id }
}

/**
 * A REST call made by the page itself (same origin, the page's session cookie and Origin header): what the UI would
 * send. Returns the status and parsed body.
 */
export async function inPage<T = any>(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const res = await fetch(`/api/v1${path}`, {
        method,
        credentials: 'same-origin',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await res.text()
      return { status: res.status, body: text ? JSON.parse(text) : null }
    },
    { method, path, body },
  )
}

const AXE_SOURCE = fileURLToPath(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url))
let axeSource: string | undefined

/**
 * axe-core's serious and critical violations on the page as it is now (`rule: n nodes (first target)`), empty when
 * there are none. axe is evaluated through the DevTools protocol, which the page's CSP does not apply to.
 */
export async function axeProblems(page: Page): Promise<string[]> {
  axeSource ??= await readFile(AXE_SOURCE, 'utf8')
  await page.evaluate(axeSource)
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: any[] }> } }).axe
    const result = await axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map((v) => ({ id: v.id, impact: v.impact as string, nodes: v.nodes.map((n: any) => String(n.target)) }))
  })
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.length} nodes, e.g. ${v.nodes.slice(0, 3).join(' | ')}`)
}

/** The two widths every page is checked and photographed at: a desktop and a phone. */
export const WIDTHS = [
  { name: '1440', width: 1440, height: 900 },
  { name: '390', width: 390, height: 844 },
] as const

/**
 * Checks a page at 1440 and 390 px: axe finds no serious or critical violation, nothing is wider than the screen, and
 * a screenshot of each lands in test-results/screenshots/<name>-<width>.png. Leaves the viewport at its size before.
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  const before = page.viewportSize()
  try {
    for (const w of WIDTHS) {
      await page.setViewportSize({ width: w.width, height: w.height })
      const overflow = await page.evaluate(() => {
        const by = document.documentElement.scrollWidth - window.innerWidth
        // Name the innermost element sticking out, so a failure says what to fix.
        const culprit = [...document.querySelectorAll('body *')].reverse().find((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
        return { by, culprit: culprit ? `${culprit.tagName.toLowerCase()}.${[...culprit.classList].join('.')} "${(culprit.textContent ?? '').slice(0, 60)}"` : '' }
      })
      if (overflow.by > 1) throw new Error(`${name} at ${w.width} px is ${overflow.by} px wider than the screen: ${overflow.culprit}`)
      const problems = await axeProblems(page)
      if (problems.length > 0) throw new Error(`${name} at ${w.width} px: axe found\n${problems.join('\n')}`)
      await screenshot(page, `${name}-${w.name}`)
    }
  } finally {
    if (before) await page.setViewportSize(before)
  }
}

/** Saves a full-page screenshot as test-results/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true })
  const path = join(SCREENSHOT_DIR, `${name}.png`)
  // Caret and animations would make the picture depend on timing.
  await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' })
  return path
}

/**
 * Marks the page's window; {@link stillSamePage} is true only if no navigation or reload happened since, so an
 * assertion that "the page updated by itself" cannot be satisfied by a reload.
 */
export async function markPage(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __omoiMark?: boolean }).__omoiMark = true))
}

export async function stillSamePage(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __omoiMark?: boolean }).__omoiMark === true)
}

/** The seqs of every event the spec room's timeline shows (single rows and rows folded into tool groups), ascending. */
export async function shownSeqs(page: Page): Promise<number[]> {
  const seqs = await page
    .getByTestId('timeline-list')
    .locator('[data-testid="event-row"]')
    .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))))
  return [...new Set(seqs)].sort((a, b) => a - b)
}

/** The phase stepper as `phase → data-state`, in order. */
export async function stepperStates(page: Page): Promise<Record<string, string>> {
  const steps = await page
    .getByTestId('phase-stepper')
    .locator('[data-testid^="phase-step-"]')
    .evaluateAll((els) => els.map((el) => [el.getAttribute('data-testid')!.slice('phase-step-'.length), el.getAttribute('data-state') ?? '']))
  return Object.fromEntries(steps)
}

/** The user ids in the room's presence list, sorted. */
export async function presenceIds(page: Page): Promise<string[]> {
  const ids = await page.getByTestId('presence-viewer').evaluateAll((els) => els.map((el) => el.getAttribute('data-user-id') ?? ''))
  return ids.sort()
}
