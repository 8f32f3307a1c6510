/** Who is signed in. Loaded once at boot from GET /auth/me; a 401 anywhere later signs the UI out. */
import { signal } from '@preact/signals'
import { api, ApiError, setUnauthenticatedHandler } from '../api.ts'
import { closeSockets, setRefusedHandler } from '../socket.ts'
import type { User } from '../types.ts'

export const me = signal<User | null>(null)
/** False until the first /auth/me answered. */
export const authReady = signal(false)
/** Why we could not even ask who is signed in (server down); null when the answer came. */
export const authLoadError = signal<string | null>(null)

function signedOut(): void {
  closeSockets()
  me.value = null
}

export async function loadMe(): Promise<void> {
  try {
    const { user } = await api.me()
    me.value = user
    authLoadError.value = null
  } catch (err) {
    me.value = null
    authLoadError.value = err instanceof ApiError && err.status === 401 ? null : err instanceof Error ? err.message : String(err)
  } finally {
    authReady.value = true
  }
}

export async function login(email: string, password: string): Promise<User> {
  const { user } = await api.login({ email, password })
  closeSockets() // a socket from an earlier session must not outlive it
  me.value = user
  return user
}

export async function signup(name: string, email: string, password: string): Promise<User> {
  const { user } = await api.signup({ name, email, password })
  closeSockets()
  me.value = user
  return user
}

export async function logout(): Promise<void> {
  try {
    await api.logout()
  } finally {
    signedOut()
  }
}

/** Wires "session ended" from REST (401) and sockets (`unauthenticated`) to signing the UI out. */
export function installAuthHandlers(): void {
  setUnauthenticatedHandler(() => {
    if (me.value) signedOut()
  })
  setRefusedHandler(() => {
    // The socket was refused; ask the API whether the session is really gone before signing out.
    void api.me().then(
      ({ user }) => (me.value = user),
      (err) => {
        if (err instanceof ApiError && err.status === 401) signedOut()
      },
    )
  })
}
