import { resolve } from 'node:path'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { CliError, Client } from './client.ts'
import { configPath, readSaved, writeSaved } from './store.ts'
import { eventLine, paint, progressLine, type SpecView, type TimelineEvent } from './timeline.ts'
import { watchSpec } from './watch.ts'

/**
 * `omoi`, the terminal client: log in, list and create projects, launch and watch specs, steer them. `--json` prints
 * the server's answers for scripts; exit codes: 0 done (a watched spec completed), 1 failed (or the server refused),
 * 2 misuse.
 */

const DEFAULT_SERVER = 'http://127.0.0.1:3000'
const colour = paint(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR)
const write = (line: string) => process.stdout.write(`${line}\n`)

// `omoi events <spec> | head`: once the reader is gone there is nobody to tell anything, so the CLI ends quietly
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1))
}

interface Globals {
  server?: string
  json?: boolean
}

async function context(cmd: Command): Promise<{ client: Client; json: boolean; server: string }> {
  const globals = cmd.optsWithGlobals<Globals>()
  const saved = await readSaved()
  const server = (globals.server ?? process.env.OMOI_URL ?? saved.server ?? DEFAULT_SERVER).replace(/\/+$/, '')
  return { client: new Client(server, process.env.OMOI_TOKEN ?? saved.token), json: Boolean(globals.json), server }
}

const print = (json: boolean, value: unknown, human: () => string | string[]) => {
  if (json) return write(JSON.stringify(value, null, 2))
  const text = human()
  for (const line of Array.isArray(text) ? text : [text]) write(line)
}

const positiveNumber = (value: string) => {
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number ≥ 0')
  return n
}
const wholeNumber = (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number')
  return Number(value)
}

/** Follows the spec to its end; the exit code says how it ended. */
async function follow(cmd: Command, specId: string): Promise<void> {
  const { server, client, json } = await context(cmd)
  const spec = await watchSpec({ server, token: client.token, specId, json, paint: colour, write })
  process.exitCode = spec.status === 'completed' ? 0 : 1
}

const program = new Command('omoi')
  .description('Drive and watch omoi from a terminal: specs planned and built by AI agents.')
  .option('--server <url>', `the omoi server (default: $OMOI_URL, the one you logged in to, or ${DEFAULT_SERVER})`)
  .option('--json', 'print the answers as JSON (events as one JSON object per line)')
  .exitOverride()
  .showHelpAfterError('(run with --help for usage)')

program
  .command('login')
  .description('log in (or sign up with --signup) and keep the token in your config directory')
  .requiredOption('--email <email>', 'your email')
  .option('--password <password>', 'your password (default: $OMOI_PASSWORD)')
  .option('--signup', 'create the account first')
  .option('--name <name>', 'your name, with --signup')
  .action(async (opts: { email: string; password?: string; signup?: boolean; name?: string }, cmd: Command) => {
    const password = opts.password ?? process.env.OMOI_PASSWORD
    if (!password) throw new CliError('give --password or set OMOI_PASSWORD', 2)
    const { client, json, server } = await context(cmd)
    const answer = opts.signup
      ? await client.post('/auth/signup', { email: opts.email, password, name: opts.name ?? opts.email.split('@')[0] })
      : await client.post('/auth/login', { email: opts.email, password })
    await writeSaved({ server, token: answer.token, email: answer.user.email })
    print(json, { user: answer.user, server, config: configPath() }, () => `logged in to ${server} as ${answer.user.name} <${answer.user.email}>`)
  })

program
  .command('logout')
  .description('end the session and forget the token')
  .action(async (_opts: unknown, cmd: Command) => {
    const { client } = await context(cmd)
    if (client.token) await client.post('/auth/logout').catch(() => {})
    const saved = await readSaved()
    await writeSaved({ ...saved, token: undefined })
  })

const projects = program
  .command('projects')
  .description('list your projects (or create one: projects create)')
  .action(async (_opts: unknown, cmd: Command) => {
    const { client, json } = await context(cmd)
    const answer = await client.get<{ projects: { id: string; name: string; repo_url: string | null }[] }>('/projects')
    print(json, answer, () => (answer.projects.length ? answer.projects.map((p) => `${p.id}  ${p.name}${p.repo_url ? `  ${p.repo_url}` : ''}`) : 'no projects yet'))
  })
projects
  .command('create <name>')
  .description('create a project')
  .option('--repo <url>', 'a git URL or a local repository path the server may use')
  .option('--branch <name>', 'its default branch')
  .action(async (name: string, opts: { repo?: string; branch?: string }, cmd: Command) => {
    const { client, json } = await context(cmd)
    // a relative local path means this directory's, as everywhere in a terminal (a URL or absolute path goes as it is)
    const repo = opts.repo && (opts.repo.startsWith('.') || /^[\w-]+(\/|$)/.test(opts.repo)) && !opts.repo.includes('://') ? resolve(opts.repo) : opts.repo
    const project = await client.post('/projects', { name, ...(repo ? { repo_url: repo } : {}), ...(opts.branch ? { default_branch: opts.branch } : {}) })
    print(json, project, () => `${project.id}  ${project.name}`)
  })

program
  .command('launch <title>')
  .description('launch a spec in a project')
  .requiredOption('--project <id>', 'the project')
  .option('--description <text>', 'what you want built (default: the title)')
  .addOption(new Option('--approval <mode>', 'wait for your approval after requirements, design and tasks').choices(['auto', 'manual']).default('auto'))
  .option('--budget <usd>', 'stop when the model cost passes this', positiveNumber)
  .option('--watch', 'follow it live until it ends (exit 0 completed, 1 failed or cancelled)')
  .action(async (title: string, opts: { project: string; description?: string; approval: string; budget?: number; watch?: boolean }, cmd: Command) => {
    const { client, json } = await context(cmd)
    const answer = await client.post('/specs/launch', {
      project_id: opts.project,
      title,
      description: opts.description ?? title,
      approval: opts.approval,
      ...(opts.budget !== undefined ? { budget_usd: opts.budget } : {}),
    })
    if (!opts.watch || !json) print(json, answer, () => `launched ${answer.spec_id} (${answer.status}, ${answer.current_phase})`)
    if (opts.watch) await follow(cmd, answer.spec_id)
  })

program
  .command('watch <spec>')
  .description('follow a spec live until it ends (exit 0 completed, 1 failed or cancelled)')
  .action((spec: string, _opts: unknown, cmd: Command) => follow(cmd, spec))

const steer = (name: string, description: string, body: (opts: Record<string, string>, args: string[]) => Record<string, unknown>) =>
  async (spec: string, ...rest: unknown[]) => {
    const cmd = rest.at(-1) as Command
    const opts = rest.at(-2) as Record<string, string>
    const args = rest.slice(0, -2).flat() as string[]
    const { client, json } = await context(cmd)
    const path = name === 'message' ? `/specs/${spec}/messages` : `/specs/${spec}/${name}`
    const answer = await client.post(path, body(opts, args))
    print(json, answer, () => `${description}: ${answer.spec?.status ?? answer.status ?? 'ok'}${answer.current_phase ? ` (${answer.current_phase})` : ''}`)
  }

/**
 * The phase awaiting approval, when none is given. Throws (exit 1, nothing sent) when no phase awaits it: the current
 * phase of a spec that is executing or done is not one a person approves or revises.
 */
async function awaitingPhase(cmd: Command, spec: string, given?: string): Promise<string> {
  if (given) return given
  const view = await (await context(cmd)).client.get<SpecView>(`/specs/${spec}`)
  if (view.status !== 'awaiting_approval' || !view.current_phase) {
    throw new CliError(`nothing of ${spec} is awaiting approval (it is ${view.status.replace(/_/g, ' ')})`, 1)
  }
  return view.current_phase
}

program
  .command('approve <spec>')
  .description('approve the phase awaiting approval')
  .option('--phase <phase>', 'the phase (default: the one awaiting approval)')
  .action(async (spec: string, opts: { phase?: string }, cmd: Command) => {
    const phase = await awaitingPhase(cmd, spec, opts.phase)
    await steer('approve', 'approved', () => ({ phase }))(spec, opts, cmd)
  })
program
  .command('revise <spec>')
  .description('send a phase back with feedback')
  .requiredOption('--feedback <text>', 'what to change')
  .option('--phase <phase>', 'the phase (default: the one awaiting approval)')
  .action(async (spec: string, opts: { phase?: string; feedback: string }, cmd: Command) => {
    const phase = await awaitingPhase(cmd, spec, opts.phase)
    await steer('revise', 'revising', () => ({ phase, feedback: opts.feedback }))(spec, opts, cmd)
  })
for (const [name, description] of [
  ['pause', 'pause a spec'],
  ['resume', 'resume a paused spec'],
  ['cancel', 'cancel a spec'],
] as const) {
  program.command(`${name} <spec>`).description(description).action(steer(name, `${name} sent`, () => ({})))
}
program
  .command('retry <spec>')
  .description('retry the failed phase or tasks')
  .option('--task <id>', 'only this task')
  .action(steer('retry', 'retrying', (opts) => (opts.task ? { task_id: opts.task } : {})))
program
  .command('message <spec> <text...>')
  .description('tell the agent working on the spec something')
  .action(steer('message', 'delivered', (_opts, args) => ({ text: args.join(' ') })))

program
  .command('events <spec>')
  .description("a spec's events, oldest first")
  .option('--after <seq>', 'only those after this seq', wholeNumber, 0)
  .option('--limit <n>', 'at most this many (≤ 500)', wholeNumber, 500)
  .option('--type <type>', 'only this type')
  .action(async (spec: string, opts: { after: number; limit: number; type?: string }, cmd: Command) => {
    const { client, json } = await context(cmd)
    const query = new URLSearchParams({ after_seq: String(opts.after), limit: String(opts.limit), ...(opts.type ? { type: opts.type } : {}) })
    const answer = await client.get<{ events: TimelineEvent[] }>(`/specs/${spec}/events?${query}`)
    print(json, answer, () => answer.events.map((e) => eventLine(e, colour) ?? colour.dim(`#${e.seq} ${e.type}`)))
  })

program
  .command('artifacts <spec>')
  .description("a spec's accepted phase outputs")
  .option('--md', 'requirements, design and tasks as Markdown')
  .action(async (spec: string, opts: { md?: boolean }, cmd: Command) => {
    const { client, json } = await context(cmd)
    if (opts.md) {
      const parts: string[] = []
      for (const name of ['requirements', 'design', 'tasks']) parts.push(await client.get<string>(`/specs/${spec}/artifacts/${name}.md`))
      write(parts.join('\n\n'))
      return
    }
    const answer = await client.get<Record<string, unknown>>(`/specs/${spec}/artifacts`)
    const state = await client.get<SpecView>(`/specs/${spec}`)
    print(json, answer, () => [
      progressLine(state, colour),
      ...Object.entries(answer).map(([name, value]) => `${name}: ${value === null ? colour.dim('not yet') : JSON.stringify(value, null, 2)}`),
    ])
  })

interface DiffAnswer {
  files: { path: string; status: string; additions: number; deletions: number }[]
  insertions: number
  deletions: number
}

program
  .command('diff <spec>')
  .description('what a spec (or one of its tasks) changed: files with their counts, or the unified diff with --patch')
  .option('--task <id>', "only this task's own work (e.g. TSK-001)")
  .option('--path <file>', 'only this file')
  .option('--patch', 'the unified diff')
  .action(async (spec: string, opts: { task?: string; path?: string; patch?: boolean }, cmd: Command) => {
    const { client, json } = await context(cmd)
    const query = new URLSearchParams({
      ...(opts.task ? { task: opts.task } : {}),
      ...(opts.path ? { path: opts.path } : {}),
      ...(opts.patch ? { format: 'patch' } : {}),
    }).toString()
    const path = `/specs/${spec}/diff${query ? `?${query}` : ''}`
    if (opts.patch) {
      write(await client.get<string>(path))
      return
    }
    const answer = await client.get<DiffAnswer>(path)
    print(json, answer, () => [
      ...answer.files.map((f) => `${f.status.padEnd(8)} ${colour.green(`+${f.additions}`)} ${colour.red(`-${f.deletions}`)}  ${f.path}`),
      colour.dim(`${answer.files.length} file${answer.files.length === 1 ? '' : 's'}, +${answer.insertions} -${answer.deletions}`),
    ])
  })

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2
  } else if (err instanceof CliError) {
    process.stderr.write(`omoi: ${err.message}\n`)
    process.exitCode = err.exitCode
  } else {
    process.stderr.write(`omoi: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  }
}
