import { resolve } from 'node:path'
import { hostname } from 'node:os'
import { isIP } from 'node:net'
import * as v from 'valibot'
import { ulid } from './ids.ts'
import { defaultModel, knownModel, UNKNOWN_MODEL_LIMITS, type ModelInfo } from './actors/models.ts'
import { sdkDeprecations } from './actors/model-deprecations.ts'

/** Every setting of CONTRACT §1, read from the environment once and validated. */

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

// RFC 1123 host names (letters, digits, hyphens, dots); IP addresses are checked with node:net
const HOSTNAME = /^(?=.{1,253}$)[a-z\d]([a-z\d-]{0,61}[a-z\d])?(\.[a-z\d]([a-z\d-]{0,61}[a-z\d])?)*$/i

const EnvSchema = v.object({
  PORT: intInRange('PORT', 0, 65535, '3000'),
  HOST: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.check((s) => isIP(s) !== 0 || HOSTNAME.test(s), 'HOST must be an IP address or a host name (e.g. 127.0.0.1 or 0.0.0.0)'),
    ),
    '127.0.0.1',
  ),
  DATABASE_URL: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.transform((s) => (s === '' ? undefined : s)),
      v.optional(v.pipe(v.string(), v.regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgres:// or postgresql://'))),
    ),
  ),
  OMOI_DATA_DIR: v.optional(v.pipe(v.string(), v.trim(), v.minLength(1, 'OMOI_DATA_DIR must not be empty')), './.omoi'),
  ANTHROPIC_API_KEY: optionalText,
  ANTHROPIC_BASE_URL: url('ANTHROPIC_BASE_URL'),
  OMOI_MODEL: optionalText,
  OMOI_MODEL_PRICE: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.regex(/^\d+(\.\d+)?\s*,\s*\d+(\.\d+)?$/, 'OMOI_MODEL_PRICE must be "input,output" in USD per million tokens, e.g. "3,15"'),
      v.transform((s) => s.split(',').map(Number) as [number, number]),
    ),
  ),
  OMOI_MODEL_TIMEOUT_MS: intInRange('OMOI_MODEL_TIMEOUT_MS', 1000, 3_600_000, '600000'),
  OMOI_SANDBOX: v.optional(v.picklist(['local', 'daytona'], 'OMOI_SANDBOX must be "local" or "daytona"'), 'local'),
  OMOI_SANDBOX_ISOLATION: v.optional(v.picklist(['bwrap', 'none'], 'OMOI_SANDBOX_ISOLATION must be "bwrap" or "none"'), 'bwrap'),
  OMOI_SANDBOX_NETWORK: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.transform((s) => (s === '' ? undefined : s)),
      v.optional(v.picklist(['nat', 'none'], 'OMOI_SANDBOX_NETWORK must be "nat", "none" or unset')),
    ),
  ),
  OMOI_REPO_ROOTS: optionalText,
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
  OMOI_SIGNUP: v.optional(v.picklist(['open', 'closed'], 'OMOI_SIGNUP must be "open" or "closed"'), 'open'),
  OMOI_LOG_LEVEL: v.optional(
    v.picklist(['debug', 'info', 'warn', 'error', 'silent'], 'OMOI_LOG_LEVEL must be debug, info, warn, error or silent'),
    'info',
  ),
  OMOI_METRICS_TOKEN: optionalText,
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

/** The names of every setting (the README's configuration table lists each). */
export const SETTING_NAMES = Object.keys(EnvSchema.entries)

export interface Config {
  port: number
  host: string
  databaseUrl: string | undefined
  dataDir: string
  model: {
    apiKey: string | undefined
    baseUrl: string | undefined
    name: string
    /** Prices and limits of `name` (from the model table, or OMOI_MODEL_PRICE, or estimated). */
    info: ModelInfo
    /** The longest one upstream model call may take through the proxy. */
    timeoutMs: number
  }
  sandbox:
    | {
        kind: 'local'
        isolation: 'bwrap' | 'none'
        /**
         * What a bwrap sandbox's own network reaches besides the server's socket: `nat` the outside through slirp4netns,
         * `none` nothing; undefined: `nat` where slirp4netns is installed, else `none` (src/sandbox/probe.ts decides).
         */
        network: 'nat' | 'none' | undefined
      }
    | { kind: 'daytona'; apiKey: string; apiUrl: string | undefined; target: string | undefined; gitToken: string | undefined }
  publicUrl: string | undefined
  /** Absolute directories a local `repo_url` must lie under (OMOI_REPO_ROOTS; default: the data directory). */
  repoRoots: string[]
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
  /** Lines to print once at start (a deprecated model, estimated costs); they do not stop the start. */
  warnings: string[]
  /** `closed`: only admins add people (POST /api/v1/users); emails in OMOI_ADMIN_EMAILS may still sign up. */
  signup: 'open' | 'closed'
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  /** Bearer token that lets non-loopback callers read GET /metrics. */
  metricsToken: string | undefined
}

/** A setting that stops the start: its message is one line naming the setting. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

const day = (d: Date) => d.toISOString().slice(0, 10)

/**
 * The model and what it costs: the default is the newest Sonnet the installed SDK has not deprecated; a deprecated
 * one warns with its end-of-life date and a retired one stops the start; an id the price table lacks needs a price.
 */
function resolveModel(
  configured: string | undefined,
  price: [number, number] | undefined,
  deprecations: ReadonlyMap<string, Date>,
  now: Date,
): { name: string; info: ModelInfo; warnings: string[] } {
  const fallback = defaultModel(deprecations)
  const name = configured ?? fallback
  const warnings: string[] = []
  const endOfLife = deprecations.get(name)
  if (endOfLife && now.getTime() >= endOfLife.getTime()) {
    throw new ConfigError(
      `invalid setting OMOI_MODEL: ${name} reached its end of life on ${day(endOfLife)}; ` +
        `use ${fallback} (the default) or another current model`,
    )
  }
  if (endOfLife) {
    warnings.push(`OMOI_MODEL ${name} is deprecated and reaches its end of life on ${day(endOfLife)}: from then every spec fails; switch to ${fallback}`)
  }
  const known = knownModel(name)
  if (price) {
    // the published cache multipliers: a 5-minute write costs 1.25× input, a read 0.1×
    const [input, output] = price
    const { context_window, max_output } = known ?? UNKNOWN_MODEL_LIMITS
    return { name, info: { input, output, cache_write: input * 1.25, cache_read: input * 0.1, context_window, max_output }, warnings }
  }
  if (known) return { name, info: known, warnings }
  warnings.push(
    `OMOI_MODEL ${name} is not in the price table: costs are estimated at ${fallback}'s prices; ` +
      'set OMOI_MODEL_PRICE=input,output (USD per million tokens)',
  )
  return { name, info: { ...knownModel(fallback)!, ...UNKNOWN_MODEL_LIMITS, long_prompt: undefined }, warnings }
}

/** `options` are for tests: the date the deprecation table is read against, and that table. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { now?: Date; deprecations?: ReadonlyMap<string, Date> } = {},
): Config {
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
  if (e.OMOI_SANDBOX_NETWORK && (e.OMOI_SANDBOX !== 'local' || e.OMOI_SANDBOX_ISOLATION !== 'bwrap')) {
    throw new ConfigError(
      'invalid setting OMOI_SANDBOX_NETWORK: it applies to local sandboxes in bubblewrap only ' +
        '(OMOI_SANDBOX=local, OMOI_SANDBOX_ISOLATION=bwrap); unconfined or Daytona sandboxes have the network of where they run',
    )
  }
  if (e.OMOI_FORGE && !e.OMOI_FORGE_TOKEN) {
    throw new ConfigError('invalid setting OMOI_FORGE_TOKEN: required when OMOI_FORGE is set')
  }
  if (e.OMOI_CLUSTER === 'postgres' && !e.DATABASE_URL) {
    throw new ConfigError('invalid setting OMOI_CLUSTER: postgres clustering needs DATABASE_URL (embedded PGlite is one node)')
  }
  const model = resolveModel(e.OMOI_MODEL, e.OMOI_MODEL_PRICE, options.deprecations ?? sdkDeprecations(), options.now ?? new Date())
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: resolve(e.OMOI_DATA_DIR),
    model: { apiKey: e.ANTHROPIC_API_KEY, baseUrl: e.ANTHROPIC_BASE_URL, name: model.name, info: model.info, timeoutMs: e.OMOI_MODEL_TIMEOUT_MS },
    sandbox:
      e.OMOI_SANDBOX === 'daytona'
        ? { kind: 'daytona', apiKey: e.DAYTONA_API_KEY!, apiUrl: e.DAYTONA_API_URL, target: e.DAYTONA_TARGET, gitToken: e.OMOI_GIT_TOKEN }
        : { kind: 'local', isolation: e.OMOI_SANDBOX_ISOLATION, network: e.OMOI_SANDBOX_NETWORK },
    publicUrl: e.OMOI_PUBLIC_URL?.replace(/\/+$/, ''),
    repoRoots: (e.OMOI_REPO_ROOTS ?? e.OMOI_DATA_DIR)
      .split(':')
      .filter(Boolean)
      .map((root) => resolve(root)),
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
    warnings: model.warnings,
    signup: e.OMOI_SIGNUP,
    logLevel: e.OMOI_LOG_LEVEL,
    metricsToken: e.OMOI_METRICS_TOKEN,
    forge: e.OMOI_FORGE
      ? { kind: e.OMOI_FORGE, token: e.OMOI_FORGE_TOKEN!, ...(e.OMOI_FORGE_API_URL ? { apiUrl: e.OMOI_FORGE_API_URL.replace(/\/+$/, '') } : {}) }
      : undefined,
  }
}
