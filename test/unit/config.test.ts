import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { ConfigError, loadConfig, SETTING_NAMES } from '../../src/config.ts'

describe('config', () => {
  it('has embedded defaults with nothing set', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({ port: 3000, databaseUrl: undefined, sandbox: { kind: 'local' }, taskConcurrency: 2, cluster: undefined })
    expect(c.model.apiKey).toBeUndefined()
    expect(c.dataDir).toMatch(/\.omoi$/)
    expect(c).toMatchObject({ host: '127.0.0.1', signup: 'open', logLevel: 'info', metricsToken: undefined })
  })

  it('reads HOST, OMOI_SIGNUP, OMOI_LOG_LEVEL and OMOI_METRICS_TOKEN', () => {
    const c = loadConfig({ HOST: '0.0.0.0', OMOI_SIGNUP: 'closed', OMOI_LOG_LEVEL: 'debug', OMOI_METRICS_TOKEN: 's3cret' })
    expect(c).toMatchObject({ host: '0.0.0.0', signup: 'closed', logLevel: 'debug', metricsToken: 's3cret' })
    expect(loadConfig({ HOST: '::1' }).host).toBe('::1')
    expect(loadConfig({ HOST: 'localhost' }).host).toBe('localhost')
  })

  it.each([
    [{ PORT: '99999' }, 'invalid setting PORT: PORT must be at most 65535'],
    [{ DATABASE_URL: 'mysql://x' }, 'invalid setting DATABASE_URL: DATABASE_URL must start with postgres:// or postgresql://'],
    [{ OMOI_SANDBOX: 'docker' }, 'invalid setting OMOI_SANDBOX: OMOI_SANDBOX must be "local" or "daytona"'],
    [{ OMOI_SANDBOX: 'daytona' }, 'invalid setting DAYTONA_API_KEY: required when OMOI_SANDBOX=daytona'],
    [{ OMOI_TASK_CONCURRENCY: '0' }, 'invalid setting OMOI_TASK_CONCURRENCY: OMOI_TASK_CONCURRENCY must be at least 1'],
    [{ OMOI_CLUSTER: 'redis' }, 'invalid setting OMOI_CLUSTER: OMOI_CLUSTER must be "postgres" or unset'],
    [{ OMOI_CLUSTER: 'postgres' }, 'invalid setting OMOI_CLUSTER: postgres clustering needs DATABASE_URL (embedded PGlite is one node)'],
    [{ ANTHROPIC_BASE_URL: 'nope' }, 'invalid setting ANTHROPIC_BASE_URL: ANTHROPIC_BASE_URL must be a URL'],
    [{ OMOI_LOG_LEVEL: 'verbose' }, 'invalid setting OMOI_LOG_LEVEL: OMOI_LOG_LEVEL must be debug, info, warn, error or silent'],
    [{ OMOI_SIGNUP: 'invite' }, 'invalid setting OMOI_SIGNUP: OMOI_SIGNUP must be "open" or "closed"'],
    [{ HOST: 'not a host!' }, 'invalid setting HOST: HOST must be an IP address or a host name (e.g. 127.0.0.1 or 0.0.0.0)'],
    [{ OMOI_DATA_DIR: ' ' }, 'invalid setting OMOI_DATA_DIR: OMOI_DATA_DIR must not be empty'],
    [{ OMOI_SANDBOX_ISOLATION: 'docker' }, 'invalid setting OMOI_SANDBOX_ISOLATION: OMOI_SANDBOX_ISOLATION must be "bwrap" or "none"'],
    [{ OMOI_FORGE: 'gitlab' }, 'invalid setting OMOI_FORGE: OMOI_FORGE must be "github" or unset'],
    [{ OMOI_FORGE: 'github' }, 'invalid setting OMOI_FORGE_TOKEN: required when OMOI_FORGE is set'],
    [{ OMOI_FORGE: 'github', OMOI_FORGE_TOKEN: 't', OMOI_FORGE_API_URL: 'x' }, 'invalid setting OMOI_FORGE_API_URL: OMOI_FORGE_API_URL must be a URL'],
  ])('%o is refused with one line naming the setting', (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message))
  })

  it('reads admins, the model and Daytona settings', () => {
    const c = loadConfig({
      OMOI_ADMIN_EMAILS: ' Boss@X.io, ,ops@x.io',
      ANTHROPIC_API_KEY: 'k',
      OMOI_MODEL: 'claude-x',
      OMOI_SANDBOX: 'daytona',
      DAYTONA_API_KEY: 'd',
      OMOI_PUBLIC_URL: 'https://omoi.example/',
    })
    expect([...c.adminEmails]).toEqual(['boss@x.io', 'ops@x.io'])
    expect(c.model).toMatchObject({ apiKey: 'k', name: 'claude-x' })
    expect(c.sandbox).toMatchObject({ kind: 'daytona', apiKey: 'd' })
    expect(c.publicUrl).toBe('https://omoi.example')
  })

  it('every setting is in the README configuration table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const firstColumns = readme
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.split('|')[1]!)
      .join(' ')
    expect(SETTING_NAMES.filter((name) => !firstColumns.includes(`\`${name}\``))).toEqual([])
  })

  it('confines local sandboxes with bubblewrap and local repositories to the data directory, unless told otherwise', () => {
    const c = loadConfig({ OMOI_DATA_DIR: '/srv/omoi' })
    expect(c.sandbox).toEqual({ kind: 'local', isolation: 'bwrap', network: undefined })
    expect(c.repoRoots).toEqual(['/srv/omoi'])
    const d = loadConfig({ OMOI_DATA_DIR: '/srv/omoi', OMOI_SANDBOX_ISOLATION: 'none', OMOI_REPO_ROOTS: '/srv/git::/home/x/../code/' })
    expect(d.sandbox).toEqual({ kind: 'local', isolation: 'none', network: undefined })
    expect(d.repoRoots).toEqual(['/srv/git', '/home/code'])
  })

  it('reads the network of bubblewrap sandboxes, and refuses it where there is none to choose', () => {
    expect(loadConfig({ OMOI_SANDBOX_NETWORK: 'nat' }).sandbox).toMatchObject({ kind: 'local', network: 'nat' })
    expect(loadConfig({ OMOI_SANDBOX_NETWORK: 'none' }).sandbox).toMatchObject({ kind: 'local', network: 'none' })
    expect(loadConfig({ OMOI_SANDBOX_NETWORK: '' }).sandbox).toMatchObject({ kind: 'local', network: undefined })
    expect(() => loadConfig({ OMOI_SANDBOX_NETWORK: 'host' })).toThrow('invalid setting OMOI_SANDBOX_NETWORK: OMOI_SANDBOX_NETWORK must be "nat", "none" or unset')
    for (const env of [{ OMOI_SANDBOX_ISOLATION: 'none' }, { OMOI_SANDBOX: 'daytona', DAYTONA_API_KEY: 'k' }]) {
      expect(() => loadConfig({ ...env, OMOI_SANDBOX_NETWORK: 'none' })).toThrow(/^invalid setting OMOI_SANDBOX_NETWORK: it applies to local sandboxes in bubblewrap only/)
    }
  })

  it('reads the forge', () => {
    expect(loadConfig({}).forge).toBeUndefined()
    expect(loadConfig({ OMOI_FORGE: 'github', OMOI_FORGE_TOKEN: 't', OMOI_FORGE_API_URL: 'https://ghe.example/api/v3/' }).forge).toEqual({
      kind: 'github',
      token: 't',
      apiUrl: 'https://ghe.example/api/v3',
    })
  })
})
