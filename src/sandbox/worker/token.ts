import { closeSync, readFileSync } from 'node:fs'

/**
 * The sandbox token, read once and removed from where it came: from the file descriptor named by
 * OMOI_SANDBOX_TOKEN_FD (local sandboxes: the agent's commands can never read it from an environment), else from
 * OMOI_SANDBOX_TOKEN (Daytona). Neither is left for a child process to inherit. Undefined when none was handed over.
 */
export function takeSandboxToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fd = env.OMOI_SANDBOX_TOKEN_FD
  delete env.OMOI_SANDBOX_TOKEN_FD
  if (fd !== undefined && /^\d+$/.test(fd)) {
    const token = readFileSync(Number(fd), 'utf8').trim()
    closeSync(Number(fd))
    return token || undefined
  }
  const token = env.OMOI_SANDBOX_TOKEN
  delete env.OMOI_SANDBOX_TOKEN
  return token || undefined
}
