import { Octokit } from '@octokit/rest'

/** A forge where a finished spec's branch gets a pull request (OMOI_FORGE). Only GitHub (or its API's shape) for now. */
export interface ForgeConfig {
  kind: 'github'
  token: string
  /** The REST API base (GitHub Enterprise, or a test double); default https://api.github.com. */
  apiUrl?: string
}

/**
 * owner and repository name from a repository URL or path: its last two path segments, without `.git`
 * (`https://github.com/acme/shop.git`, `git@github.com:acme/shop.git`, `/srv/git/acme/shop`).
 */
export function repoCoordinates(url: string): { owner: string; repo: string } | null {
  const parts = url
    .replace(/\.git\/?$/, '')
    .split(/[/:]/)
    .filter(Boolean)
  const [owner, repo] = parts.slice(-2)
  return owner && repo ? { owner, repo } : null
}

/**
 * Opens the pull request of `head` into `base`, once: an existing one for that head (open or closed) is answered
 * instead, so a step repeated after a restart opens nothing twice.
 */
export async function openPullRequest(
  forge: ForgeConfig,
  pr: { owner: string; repo: string; head: string; base: string; title: string; body: string },
): Promise<{ url: string; number: number }> {
  const octokit = new Octokit({ auth: forge.token, ...(forge.apiUrl ? { baseUrl: forge.apiUrl } : {}), request: { retries: 0 } })
  const { owner, repo, head, base } = pr
  const existing = await octokit.rest.pulls.list({ owner, repo, head: `${owner}:${head}`, state: 'all', per_page: 1 })
  const found = existing.data[0]
  if (found) return { url: found.html_url, number: found.number }
  const created = await octokit.rest.pulls.create({ owner, repo, head, base, title: pr.title, body: pr.body })
  return { url: created.data.html_url, number: created.data.number }
}
