import { describe, expect, it } from 'vitest'
import { sandboxPath } from '../../src/sandbox/sandbox-path.ts'

describe("a local sandbox's PATH", () => {
  it("is the server's without what npm run put in front of it for omoi", () => {
    const npmRun = [
      '/srv/omoi/node_modules/.bin',
      '/srv/node_modules/.bin',
      '/node_modules/.bin',
      '/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin',
      '/opt/node/bin',
      '/usr/local/bin',
      '/usr/bin',
      '',
      '/bin',
    ].join(':')
    expect(sandboxPath(npmRun)).toBe('/opt/node/bin:/usr/local/bin:/usr/bin:/bin')
  })

  it('keeps directories that only look alike, and falls back to /usr/bin:/bin when nothing is left', () => {
    expect(sandboxPath('/srv/node_modules/.bin-tools:/home/a/bin')).toBe('/srv/node_modules/.bin-tools:/home/a/bin')
    expect(sandboxPath('/srv/omoi/node_modules/.bin')).toBe('/usr/bin:/bin')
    expect(sandboxPath(undefined)).toBe('/usr/bin:/bin')
  })
})
