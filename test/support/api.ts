import { request as httpRequest } from 'node:http'
import { ulid } from '../../src/ids.ts'

export interface ApiResponse<T = any> {
  status: number
  body: T
  headers: Headers
}

/** A REST client for tests: JSON in and out, Bearer token when logged in. */
export class Api {
  token: string | undefined
  user: { id: string; email: string; name: string; role: string } | undefined

  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const res = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : null
    } catch {
      // not JSON: keep the text for the assertion message
    }
    return { status: res.status, body: parsed as T, headers: res.headers }
  }

  get = <T = any>(path: string) => this.request<T>('GET', path)
  post = <T = any>(path: string, body?: unknown) => this.request<T>('POST', path, body ?? {})

  /**
   * Signs up a new user with a unique email and keeps its token. Each person signs up from an address of their own in
   * 127.0.0.0/8, as people do from their own machines: the server limits signups per address.
   */
  async signup(name = 'Ada', email = `${name.toLowerCase()}-${ulid()}@example.com`): Promise<this> {
    const res = await postFrom(ownLoopbackAddress(), `${this.baseUrl}/api/v1/auth/signup`, { email, password: 'correct horse battery', name })
    if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`)
    this.token = res.body.token
    this.user = res.body.user
    return this
  }
}

export const asUser = async (baseUrl: string, name?: string) => new Api(baseUrl).signup(name)

/**
 * The cast most tests need: an owner with a project on a fresh git repository, a viewer member of it, and an outsider.
 */
export async function projectCast(baseUrl: string, repoUrl: string) {
  const owner = await asUser(baseUrl, 'Owner')
  const viewer = await asUser(baseUrl, 'Viewer')
  const outsider = await asUser(baseUrl, 'Outsider')
  const projectId: string = (await owner.post('/projects', { name: 'Shop', repo_url: repoUrl })).body.id
  await owner.post(`/projects/${projectId}/members`, { email: viewer.user!.email, role: 'viewer' })
  return { owner, viewer, outsider, projectId }
}

/** A loopback address of its own (127.0.0.0/8 is all loopback on Linux): another "machine" for per-address limits. */
function ownLoopbackAddress(): string {
  const byte = () => 1 + Math.floor(Math.random() * 254)
  return `127.${byte()}.${byte()}.${byte()}`
}

/** A JSON POST sent from `localAddress`. */
function postFrom(localAddress: string, url: string, body: unknown): Promise<{ status: number; body: any }> {
  const payload = JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed: unknown = text
        try {
          parsed = JSON.parse(text)
        } catch {
          // not JSON: kept as text for the assertion message
        }
        resolve({ status: res.statusCode ?? 0, body: parsed })
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}
