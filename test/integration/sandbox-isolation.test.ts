import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probeBwrap } from '../../src/sandbox/probe.ts'
import { ROOT_DIR } from '../../src/server.ts'
import { asUser, type Api } from '../support/api.ts'
import { forSpec, type SeenRequest } from '../support/model-gate.ts'
import { waitForStatus } from '../support/omoi.ts'
import { connects, countingListener as listener, hostAddress } from '../support/net-probe.ts'
import { git, makeRepo } from '../support/repo.ts'
import { runningSandbox, startStack, type Stack } from '../support/stack.ts'
import { waitFor } from '../support/wait.ts'

/**
 * Issue 16 and issue 11 case 7: an agent whose model tries every escape through `run_command`. The fake model's task
 * conversation is scripted at the gate: its one command becomes a script of probes, each printing LEAK or BLOCKED.
 */

const SERVER_KEY = 'sk-ant-server-key-that-no-sandbox-may-see'
const exists = (path: string) => stat(path).then(() => true, () => false)

/** Host pids whose command line is exactly `sleep <seconds>`. */
async function sleepers(seconds: number): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (cmdline === `sleep\0${seconds}\0`) found.push(Number(entry))
  }
  return found
}

/** The output of the task's `run_command`, as the worker handed it back to the model. */
function commandOutput(request: SeenRequest): string {
  const last = request.body.messages.at(-1)!
  const blocks = typeof last.content === 'string' ? [] : (last.content as { type: string; content?: unknown }[])
  const result = blocks.find((b) => b.type === 'tool_result')
  return typeof result?.content === 'string' ? result.content : JSON.stringify(result?.content)
}

/** Starts a quick ticket whose run_command is `script`; answers its spec id and the command's output once it ran. */
async function runScript(stack: Stack, api: Api, projectId: string, title: string, script: string) {
  stack.gate.rewrite((answer, request) => {
    if (!forSpec(title)(request)) return answer
    for (const block of answer.content) if (block.type === 'tool_use' && block.name === 'run_command') block.input = { command: script, timeout_s: 60 }
    return answer
  })
  const res = await api.post('/tickets', { project_id: projectId, title, description: 'look around' })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const specId: string = res.body.spec_id
  const after = await waitFor(() => stack.gate.requests.find((r) => forSpec(title)(r) && r.called.includes('run_command')), {
    timeoutMs: 90_000,
    what: 'the command to run',
  })
  return { specId, output: commandOutput(after) }
}

describe('with bubblewrap (the default)', () => {
  let stack: Stack
  let attacker: Api
  let victim: Api
  let attackerProject: string
  let victimProject: string

  beforeAll(async () => {
    stack = await startStack({}, { ANTHROPIC_API_KEY: SERVER_KEY })
    attacker = await asUser(stack.server.url, 'Attacker')
    victim = await asUser(stack.server.url, 'Victim')
    attackerProject = (await attacker.post('/projects', { name: 'Mine', repo_url: await makeRepo() })).body.id
    const victimRepo = await makeRepo()
    await writeFile(join(victimRepo, 'secret.txt'), 'VICTIM-SECRET-7f3a\n')
    await git(victimRepo, 'add', '-A')
    await git(victimRepo, 'commit', '-q', '-m', 'secret')
    victimProject = (await victim.post('/projects', { name: 'Theirs', repo_url: victimRepo })).body.id
  }, 60_000)
  afterAll(async () => {
    stack?.gate.rewrite(null)
    await stack?.stop()
  })

  it('the agent reaches nothing of the server, other sandboxes, the data directory or the host’s loopback, and leaves nothing running', async () => {
    const { dataDir } = stack
    const local = await listener('127.0.0.1')
    // on the nat network (the default where slirp4netns works, as in CI) the outside is reachable: this machine's other address
    const nat = (await probeBwrap()).network.kind === 'nat'
    const outside = nat && hostAddress ? await listener(hostAddress) : null
    // another user's task at work (its worker holds its own token), and an old workspace left on disk
    const hold = stack.gate.hold((r) => forSpec('Victim task')(r) && r.submitTool === 'complete_task', 1)
    const victimSpec = (await victim.post('/tickets', { project_id: victimProject, title: 'Victim task', description: 'work' })).body.spec_id as string
    await hold.first()
    const victimBox = await runningSandbox(stack.database.sql, victimSpec, { task: 'TSK-001' })
    const victimWorkspace = join(dataDir, 'sandboxes', victimBox.id, 'workspace')
    expect(await readFile(join(victimWorkspace, 'secret.txt'), 'utf8')).toContain('VICTIM-SECRET')
    await mkdir(join(dataDir, 'sandboxes', 'sbx_old', 'workspace'), { recursive: true })
    await writeFile(join(dataDir, 'sandboxes', 'sbx_old', 'workspace', 'secret.txt'), 'OLD-SECRET-91c2\n')
    await writeFile(join(dataDir, 'marker.txt'), 'DATADIR-MARKER-55d1\n')

    const probes: [string, string][] = [
      ['server environ', 'tr "\\0" "\\n" < /proc/$PPID/environ | grep -q .'],
      ['any other process', 'ls /proc | grep -v "^self$\\|^thread-self$" | grep -q "^[0-9]"'],
      ['every process environ', 'cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n" | grep -q "ANTHROPIC_API_KEY\\|DATABASE_URL\\|OMOI_SANDBOX_TOKEN="'],
      ['own token in environment', 'env | grep -q "^OMOI_SANDBOX_TOKEN="'],
      ['data directory', `ls -A ${dataDir} | grep -v "^sandboxes$" | grep -q .`],
      ['data directory marker', `cat ${dataDir}/marker.txt`],
      ['other sandboxes', `ls -A ${dataDir}/sandboxes | grep -v "^$OMOI_SANDBOX_ID$" | grep -q .`],
      ['old workspace', `cat ${dataDir}/sandboxes/sbx_old/workspace/secret.txt`],
      ['victim workspace', `cat ${victimWorkspace}/secret.txt`],
      ['embedded database files', `ls ${dataDir}/db | grep -q .`],
      ['postgres data files', 'ls /var/lib/postgresql | grep -q .'],
      ['server source', `cat ${join(ROOT_DIR, 'package.json')}`],
      ['server home', 'ls -A /root | grep -q .'],
      ['write server source', `touch ${join(ROOT_DIR, 'pwned')}`],
      ['write system', 'touch /usr/pwned'],
      // the host's loopback: a service listening there, the server's own port, the model behind it, and the way a NAT
      // gateway would lead there (slirp4netns's 10.0.2.2)
      ['host loopback listener', connects('127.0.0.1', local.port)],
      ['host loopback by name', connects('localhost', local.port)],
      ['host loopback through the gateway', connects('10.0.2.2', local.port)],
      ['server port', connects('127.0.0.1', stack.port)],
      ['model behind the server', connects('127.0.0.1', new URL(stack.gate.url).port)],
      // the server's socket is the worker's way back, not the agent's
      ['server socket', 'ls /omoi/callback | grep -q .'],
    ]
    const script = [
      'probe() { if eval "$2" >/dev/null 2>&1; then echo "LEAK $1"; else echo "BLOCKED $1"; fi; }',
      ...probes.map(([name, command]) => `probe '${name}' '${command.replace(/'/g, `'\\''`)}'`),
      // the data directory may lie under /tmp, which is the sandbox's own: whether this lands on the host is checked there
      `touch ${dataDir}/pwned`,
      ...(outside ? [`${connects(hostAddress!, outside.port)} && echo "REACHED the network"`] : []),
      'setsid sleep 31337 >/dev/null 2>&1 < /dev/null &',
      'nohup sleep 31338 >/dev/null 2>&1 < /dev/null &',
      'echo started the leftovers',
    ].join('\n')
    const { specId, output } = await runScript(stack, attacker, attackerProject, 'Escape artist', script)

    expect(output).toContain('started the leftovers')
    for (const [name] of probes) expect(output, `probe ${name}`).toContain(`BLOCKED ${name}`)
    expect(output).not.toContain('LEAK')
    for (const secret of [SERVER_KEY, 'VICTIM-SECRET', 'OLD-SECRET', 'DATADIR-MARKER', stack.database.url]) expect(output).not.toContain(secret)
    for (const path of [join(dataDir, 'pwned'), join(ROOT_DIR, 'pwned'), '/usr/pwned']) expect(await exists(path), path).toBe(false)
    expect(local.connections(), 'connections that reached the host’s loopback').toBe(0)
    local.server.close()
    if (outside) {
      expect(output, 'the NAT’ed network reaches beyond the sandbox').toContain('REACHED the network')
      outside.server.close()
    }
    // the agent's work itself goes on: its worker, confined as it is, delivers its events and completes the task
    expect((await waitForStatus(attacker, specId, ['completed', 'failed', 'cancelled'])).status).toBe('completed')

    // what the command left in the background (setsid, nohup) is gone, and so is the finished sandbox's workspace
    await waitFor(async () => (await sleepers(31337)).length === 0 && (await sleepers(31338)).length === 0, { what: 'the leftovers to end' })
    const [attackerBox] = await stack.database.sql<{ id: string }[]>`select id from sandboxes where spec_id = ${specId}`
    await waitFor(async () => !(await exists(join(dataDir, 'sandboxes', attackerBox!.id, 'workspace'))), { what: 'the workspace to be deleted' })

    // the victim's cancel ends its sandbox: its worker and workspace are gone
    expect((await victim.post(`/specs/${victimSpec}/cancel`)).status).toBe(200)
    hold.release()
    await waitFor(async () => !(await exists(victimWorkspace)), { what: 'the cancelled sandbox’s workspace to be deleted', timeoutMs: 30_000 })
    await waitFor(async () => (await readFile(`/proc/${victimBox.external_id}/cmdline`, 'utf8').catch(() => '')) === '', {
      what: 'the cancelled sandbox’s processes to end',
    })
  }, 180_000)
})

describe('without isolation (OMOI_SANDBOX_ISOLATION=none)', () => {
  let stack: Stack
  let owner: Api
  let projectId: string

  beforeAll(async () => {
    stack = await startStack({}, { OMOI_SANDBOX_ISOLATION: 'none' })
    owner = await asUser(stack.server.url, 'Owner')
    projectId = (await owner.post('/projects', { name: 'Shop', repo_url: await makeRepo() })).body.id
  }, 60_000)
  afterAll(async () => {
    stack?.gate.rewrite(null)
    await stack?.stop()
  })

  it('a process the agent starts with setsid outlives its command, not the cancel of its spec', async () => {
    const title = 'Leftover'
    const hold = stack.gate.hold((r) => forSpec(title)(r) && r.submitTool === 'complete_task' && r.called.includes('run_command'), 1)
    const { specId } = await runScript(stack, owner, projectId, title, 'setsid sleep 31339 >/dev/null 2>&1 < /dev/null & echo started')
    await hold.first()
    // the command returned once `setsid` was forked; on a busy machine its `sleep` may start a moment later
    await waitFor(async () => (await sleepers(31339)).length === 1, { what: 'the setsid process to run on after its command' })
    expect((await owner.post(`/specs/${specId}/cancel`)).status).toBe(200)
    hold.release()
    await waitFor(async () => (await sleepers(31339)).length === 0, { what: 'the setsid process to end with its sandbox', timeoutMs: 30_000 })
  }, 120_000)
})
