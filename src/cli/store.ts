import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'

/** What `omoi login` keeps: the server and the session token, in the user's config directory. */
export interface Saved {
  server?: string
  token?: string
  email?: string
}

/** `$XDG_CONFIG_HOME/omoi/config.json`, or `~/.config/omoi/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.trim() || join(homedir(), '.config')
  return join(base, 'omoi', 'config.json')
}

export async function readSaved(): Promise<Saved> {
  try {
    return JSON.parse(await readFile(configPath(), 'utf8')) as Saved
  } catch {
    return {}
  }
}

/** Written readable by the user alone: the token is a session. */
export async function writeSaved(saved: Saved): Promise<void> {
  const path = configPath()
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await writeFile(path, JSON.stringify(saved, null, 2) + '\n', { mode: 0o600 })
}
