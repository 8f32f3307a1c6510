/** The REST calls of the terminal client: JSON in and out, the saved token as Bearer. */

/** A failure to show the user: `exitCode` 1 (the server refused or is unreachable) or 2 (misuse). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message)
  }
}

export class Client {
  constructor(
    readonly server: string,
    readonly token: string | undefined,
  ) {}

  async request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response
    try {
      res = await fetch(`${this.server}/api/v1${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch (err) {
      throw new CliError(`cannot reach ${this.server} (${(err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message})`)
    }
    const text = await res.text()
    if (res.ok) return (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T
    let message = `${method} ${path} answered ${res.status}`
    try {
      const error = (JSON.parse(text) as { error?: { message?: string; fields?: Record<string, string[]> } }).error
      if (error?.message) message = error.message
      if (error?.fields) message += ` (${Object.entries(error.fields).map(([k, v]) => `${k} ${v.join(', ')}`).join('; ')})`
    } catch {
      // not our error shape: keep the status line
    }
    if (res.status === 401) message += ' — run `omoi login` first'
    throw new CliError(message)
  }

  get = <T = any>(path: string) => this.request<T>('GET', path)
  post = <T = any>(path: string, body: unknown = {}) => this.request<T>('POST', path, body)
}
