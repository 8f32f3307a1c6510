import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/**
 * Settings every git command omoi runs (the worker, the local provider, the server's delivery) gives on its command
 * line, over the host user's configuration, which the server and an unconfined worker read (their HOME's .gitconfig,
 * ~/.config/git/): that file is the user's taste for their own work, and these settings in it changed what omoi does
 * (core.safecrlf seen failing only in plain git; core.eol, autocrlf's partner, not seen).
 * - omoi's commits are made by a program, so they are not signed (`commit.gpgsign` fails them without a key, or waits
 *   on a pinentry), nor are its pushes (`push.gpgSign` failed every push to a remote that takes no signed pushes, a
 *   local repository among them: "the receiving end does not support --signed push"), and the agent's unsigned commits
 *   are merged (`merge.verifySignatures` failed every merge into the spec branch: "does not have a GPG signature").
 * - The user's own hooks do not run on them: neither a global `core.hooksPath` nor hooks that an `init.templateDir`
 *   would copy into omoi's clones. The repository's hooks still do (`.git/hooks`, relative to where hooks run: Git LFS
 *   installs its pre-push there), and so do a remote's.
 * - Files go in and out of the repository as its own `.gitattributes` and `.gitignore` say, not as the user's settings
 *   do: `core.autocrlf=true` checked every file out with CRLF (a check script then failed on `exit 0\r`, and a confined
 *   worker, which reads no such setting, committed the files as CRLF), `core.safecrlf=true` fails `git add` on a file of
 *   mixed line endings in a repository with `text=auto`, the user's global ignore file (`core.excludesFile`, by
 *   default ~/.config/git/ignore) kept an unconfined agent's files out of its commit, and the user's global attributes
 *   (`core.attributesFile`, by default ~/.config/git/attributes: `*.sh text eol=crlf`) checked scripts out with CRLF,
 *   as `core.autocrlf` did (a filter such as nbstripout's is installed there too).
 * - omoi's pushes carry no push options of the user's (`push.pushOption`, say GitLab's `ci.skip`, failed every push to a
 *   remote that takes none, a local repository among them: "the receiving end does not support push options"; an
 *   empty value empties the list).
 * - No file of the user's is read for the order of a diff: `diff.orderFile = .gitorder` (relative, so each repository's
 *   own) failed every commit in a repository without one ("failed to read orderfile '.gitorder'"), and so an
 *   unconfined worker's complete_task, every time. /dev/null orders nothing (an empty value is read as a file named '').
 * - omoi names the remote of its clones `origin` (`clone.defaultRemoteName=upstream` failed every spec: "'origin' does
 *   not appear to be a git repository").
 */
const UNATTENDED_GIT = [
  ['commit.gpgsign', 'false'],
  ['tag.gpgSign', 'false'],
  ['push.gpgSign', 'false'],
  ['push.pushOption', ''],
  ['merge.verifySignatures', 'false'],
  ['core.hooksPath', '.git/hooks'],
  ['init.templateDir', ''],
  ['core.autocrlf', 'false'],
  ['core.eol', 'lf'],
  ['core.safecrlf', 'false'],
  ['core.excludesFile', ''],
  ['core.attributesFile', '/dev/null'],
  ['diff.orderFile', '/dev/null'],
  ['clone.defaultRemoteName', 'origin'],
].flatMap(([key, value]) => ['-c', `${key}=${value}`])

/**
 * Variables that point git at another repository, work tree, index, object store or configuration: the ones git
 * itself clears when it works in another repository (`git rev-parse --local-env-vars`), and GIT_NAMESPACE. A shell
 * the server was started from may have them exported (a hook, a script run inside some repository, a `GIT_DIR=...`
 * left from an experiment); every git command omoi runs names its repository by its working directory, so none of
 * them may reach it: with GIT_DIR set, every sandbox failed to start ("fatal: not a git repository").
 */
const REPOSITORY_ENV = [
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_CONFIG',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_OBJECT_DIRECTORY',
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_IMPLICIT_WORK_TREE',
  'GIT_GRAFT_FILE',
  'GIT_INDEX_FILE',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE',
  'GIT_PREFIX',
  'GIT_INTERNAL_SUPER_PREFIX',
  'GIT_SHALLOW_FILE',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
]

/**
 * Variables that name who makes a commit and when. They win over the `user.name`/`user.email` omoi gives on the
 * command line, so an operator's exported GIT_AUTHOR_NAME and GIT_COMMITTER_EMAIL made omoi's merges into the spec
 * branch the operator's commits.
 */
const IDENTITY_ENV = ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_AUTHOR_DATE', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL', 'GIT_COMMITTER_DATE']

/** The environment of a git command omoi runs: this process's without REPOSITORY_ENV and IDENTITY_ENV, never prompting, plus `extra`. */
function unattendedGitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', ...extra }
  for (const key of [...REPOSITORY_ENV, ...IDENTITY_ENV]) delete env[key]
  for (const key of Object.keys(env)) if (/^GIT_CONFIG_(KEY|VALUE)_\d+$/.test(key)) delete env[key]
  return env
}

/**
 * The options that hand OMOI_GIT_TOKEN (from git's environment) to git as the password of a credential helper: the
 * token is never written into a remote URL, the git config on disk, or a log. The empty helper first drops the
 * user's own helpers.
 */
export const TOKEN_CREDENTIALS = ['-c', 'credential.helper=', '-c', 'credential.helper=!f() { echo username=x-access-token; echo "password=$OMOI_GIT_TOKEN"; }; f']

/** omoi's own identity for the commits the server makes (delivery's merges, a local sandbox's set-up); the agent's are its own. */
export const OMOI_IDENTITY = ['-c', 'user.name=omoi', '-c', 'user.email=omoi@omoi.local']

/** Credentials in git URLs (`https://user:secret@host`) never reach an error message. */
const redactUrlCredentials = (text: string) => text.replace(/(\w+:\/\/)[^\s/@]+@/g, '$1***@')

/**
 * Runs git in `cwd` as omoi runs every git command: no shell, UNATTENDED_GIT before `args` (which may start with
 * global options of their own, `-c k=v` or `--git-dir=…`), and the environment of unattendedGitEnv plus `env`.
 * Answers stdout as git printed it (up to 64 MiB). Rejects with an Error `git <subcommand> failed: <git's own words>`,
 * credentials in URLs masked; callers wrap it in their own error type.
 */
export async function unattendedGit(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await exec('git', [...UNATTENDED_GIT, ...args], { cwd, env: unattendedGitEnv(env), maxBuffer: 64 * 1024 * 1024 })
    return stdout
  } catch (err) {
    const subcommand = args.find((arg, i) => !arg.startsWith('-') && args[i - 1] !== '-c') ?? args[0]
    const words = (err as { stderr?: string }).stderr?.trim() || (err as Error).message
    throw new Error(redactUrlCredentials(`git ${subcommand} failed: ${words}`))
  }
}
