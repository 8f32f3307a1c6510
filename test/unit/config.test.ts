import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.ts'

describe('config', () => {
  it('has embedded defaults with nothing set', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({ port: 3000, databaseUrl: undefined, sandbox: { kind: 'local' }, taskConcurrency: 2, cluster: undefined })
    expect(c.model.apiKey).toBeUndefined()
    expect(c.dataDir).toMatch(/\.omoi$/)
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

  it('reads the forge', () => {
    expect(loadConfig({}).forge).toBeUndefined()
    expect(loadConfig({ OMOI_FORGE: 'github', OMOI_FORGE_TOKEN: 't', OMOI_FORGE_API_URL: 'https://ghe.example/api/v3/' }).forge).toEqual({
      kind: 'github',
      token: 't',
      apiUrl: 'https://ghe.example/api/v3',
    })
  })
})
