import { resolve } from 'node:path'
import { hostname } from 'node:os'
import * as v from 'valibot'
import { ulid } from './ids.ts'

/** Every setting of CONTRACT §1, read from the environment once and validated. */

const DEFAULT_MODEL = 'claude-sonnet-4-5'

const optionalText = v.optional(v.pipe(v.string(), v.trim(), v.transform((s) => (s === '' ? undefined : s))))
const intInRange = (name: string, min: number, max: number, fallback: string) =>
  v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, `${name} must be a whole number`),
      v.transform(Number),
      v.number(),
      v.minValue(min, `${name} must be at least ${min}`),
      v.maxValue(max, `${name} must be at most ${max}`),
    ),
    fallback,
  )
const url = (name: string) =>
  v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.transform((s) => (s === '' ? undefined : s)),
      v.optional(v.pipe(v.string(), v.url(`${name} must be a URL`))),
    ),
  )

const EnvSchema = v.object({
  PORT: intInRange('PORT', 0, 65535, '3000'),
  HOST: v.optional(v.string(), '0.0.0.0'),
  DATABASE_URL: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.transform((s) => (s === '' ? undefined : s)),
      v.optional(v.pipe(v.string(), v.regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgres:// or postgresql://'))),
    ),
  ),
  OMOI_DATA_DIR: v.optional(v.string(), './.omoi'),
  ANTHROPIC_API_KEY: optionalText,
  ANTHROPIC_BASE_URL: url('ANTHROPIC_BASE_URL'),
  OMOI_MODEL: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, 'OMOI_MODEL must not be empty')), DEFAULT_MODEL),
  OMOI_SANDBOX: v.optional(v.picklist(['local', 'daytona'], 'OMOI_SANDBOX must be "local" or "daytona"'), 'local'),
  DAYTONA_API_KEY: optionalText,
  DAYTONA_API_URL: url('DAYTONA_API_URL'),
  DAYTONA_TARGET: optionalText,
  OMOI_GIT_TOKEN: optionalText,
  OMOI_PUBLIC_URL: url('OMOI_PUBLIC_URL'),
  OMOI_ADMIN_EMAILS: v.optional(v.string(), ''),
  OMOI_TASK_CONCURRENCY: intInRange('OMOI_TASK_CONCURRENCY', 1, 64, '2'),
  OMOI_NODE_TASK_LIMIT: intInRange('OMOI_NODE_TASK_LIMIT', 1, 1024, '16'),
  OMOI_CLUSTER: v.optional(
    v.pipe(
      v.string(),
      v.transform((s) => (s === '' ? undefined : s)),
      v.optional(v.picklist(['postgres'], 'OMOI_CLUSTER must be "postgres" or unset')),
    ),
  ),
  OMOI_NODE_ID: optionalText,
  OMOI_SILENCE_MS: intInRange('OMOI_SILENCE_MS', 1000, 3_600_000, '60000'),
  OMOI_PHASE_TIMEOUT_MS: intInRange('OMOI_PHASE_TIMEOUT_MS', 10_000, 86_400_000, '3600000'),
  OMOI_FORGE: v.optional(
    v.pipe(
      v.string(),
      v.transform((s) => (s === '' ? undefined : s)),
      v.optional(v.picklist(['github'], 'OMOI_FORGE must be "github" or unset')),
    ),
  ),
  OMOI_FORGE_TOKEN: optionalText,
  OMOI_FORGE_API_URL: url('OMOI_FORGE_API_URL'),
})

export interface Config {
  port: number
  host: string
  databaseUrl: string | undefined
  dataDir: string
  model: { apiKey: string | undefined; baseUrl: string | undefined; name: string }
  sandbox:
    | { kind: 'local' }
    | { kind: 'daytona'; apiKey: string; apiUrl: string | undefined; target: string | undefined; gitToken: string | undefined }
  publicUrl: string | undefined
  adminEmails: Set<string>
  taskConcurrency: number
  nodeTaskLimit: number
  cluster: 'postgres' | undefined
  nodeId: string
  /** A sandbox without a heartbeat for this long is replaced. */
  silenceMs: number
  /** Where a completed spec's pull request is opened (OMOI_FORGE); undefined: none. */
  forge: { kind: 'github'; token: string; apiUrl?: string } | undefined
  /** The longest one phase attempt or task attempt may run. */
  phaseTimeoutMs: number
}

/** A setting that stops the start: its message is one line naming the setting. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = v.safeParse(EnvSchema, env)
  if (!parsed.success) {
    const issue = parsed.issues[0]
    const key = issue.path?.[0]?.key
    throw new ConfigError(`invalid setting ${String(key)}: ${issue.message}`)
  }
  const e = parsed.output
  if (e.OMOI_SANDBOX === 'daytona' && !e.DAYTONA_API_KEY) {
    throw new ConfigError('invalid setting DAYTONA_API_KEY: required when OMOI_SANDBOX=daytona')
  }
  if (e.OMOI_FORGE && !e.OMOI_FORGE_TOKEN) {
    throw new ConfigError('invalid setting OMOI_FORGE_TOKEN: required when OMOI_FORGE is set')
  }
  if (e.OMOI_CLUSTER === 'postgres' && !e.DATABASE_URL) {
    throw new ConfigError('invalid setting OMOI_CLUSTER: postgres clustering needs DATABASE_URL (embedded PGlite is one node)')
  }
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: resolve(e.OMOI_DATA_DIR),
    model: { apiKey: e.ANTHROPIC_API_KEY, baseUrl: e.ANTHROPIC_BASE_URL, name: e.OMOI_MODEL },
    sandbox:
      e.OMOI_SANDBOX === 'daytona'
        ? { kind: 'daytona', apiKey: e.DAYTONA_API_KEY!, apiUrl: e.DAYTONA_API_URL, target: e.DAYTONA_TARGET, gitToken: e.OMOI_GIT_TOKEN }
        : { kind: 'local' },
    publicUrl: e.OMOI_PUBLIC_URL?.replace(/\/+$/, ''),
    adminEmails: new Set(
      e.OMOI_ADMIN_EMAILS.split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
    ),
    taskConcurrency: e.OMOI_TASK_CONCURRENCY,
    nodeTaskLimit: e.OMOI_NODE_TASK_LIMIT,
    cluster: e.OMOI_CLUSTER,
    nodeId: e.OMOI_NODE_ID ?? `${hostname()}-${process.pid}-${ulid().slice(-6)}`,
    silenceMs: e.OMOI_SILENCE_MS,
    phaseTimeoutMs: e.OMOI_PHASE_TIMEOUT_MS,
    forge: e.OMOI_FORGE
      ? { kind: e.OMOI_FORGE, token: e.OMOI_FORGE_TOKEN!, ...(e.OMOI_FORGE_API_URL ? { apiUrl: e.OMOI_FORGE_API_URL.replace(/\/+$/, '') } : {}) }
      : undefined,
  }
}
