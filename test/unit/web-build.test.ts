import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildWeb } from '../../scripts/build-web.ts'

describe('buildWeb', () => {
  it('produces a page that loads the bundle and the styles from our own server', async () => {
    const dir = await buildWeb()
    const html = await readFile(join(dir, 'index.html'), 'utf8')
    expect(html).toMatch(/<script type="module" src="\/app\.js\?v=[0-9a-f]{10}"><\/script>/)
    expect(html).toMatch(/<link rel="stylesheet" href="\/styles\.css\?v=[0-9a-f]{10}"/)
    expect(html).toContain('<div id="app"></div>')
    expect(html).not.toMatch(/(src|href)="https?:\/\//) // nothing fetched from elsewhere

    const js = await readFile(join(dir, 'app.js'), 'utf8')
    expect(js.length).toBeGreaterThan(10_000)
    expect(js).not.toMatch(/from\s*["'](preact|socket\.io-client|@preact\/signals)["']/) // bundled, not imported bare
    expect((await readFile(join(dir, 'styles.css'), 'utf8')).length).toBeGreaterThan(1000)
  })

  it('does not rebuild when nothing changed', async () => {
    const dir = await buildWeb()
    const before = (await stat(join(dir, 'app.js'))).mtimeMs
    await buildWeb()
    expect((await stat(join(dir, 'app.js'))).mtimeMs).toBe(before)
  })
})
