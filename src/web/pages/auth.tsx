import { useSignal } from '@preact/signals'
import { ApiError } from '../api.ts'
import { Field, controlProps } from '../components/field.tsx'
import { ErrorBanner } from '../components/error-banner.tsx'
import { otherFieldMessages } from '../lib/api-error.ts'
import { safeNext } from '../lib/routes.ts'
import { navigate, query } from '../router.ts'
import { login, signup } from '../state/auth.ts'

/** Log in (`mode="login"`) or sign up; afterwards go where the person was headed (`?next=`). */
export function AuthPage(props: { mode: 'login' | 'signup' }) {
  const isSignup = props.mode === 'signup'
  const name = useSignal('')
  const email = useSignal('')
  const password = useSignal('')
  const error = useSignal<unknown>(null)
  const busy = useSignal(false)
  const next = safeNext(query.value.get('next'))
  const suffix = next !== '/' ? `?next=${encodeURIComponent(next)}` : ''

  const fieldError = (f: string) => (error.value instanceof ApiError ? error.value.fieldMessage(f) : null)

  const onSubmit = async (e: Event) => {
    e.preventDefault()
    busy.value = true
    error.value = null
    try {
      if (isSignup) await signup(name.value.trim(), email.value.trim(), password.value)
      else await login(email.value.trim(), password.value)
      navigate(next, { replace: true })
    } catch (err) {
      error.value = err
    } finally {
      busy.value = false
    }
  }

  const claimed = ['email', 'password', 'name']
  return (
    <div class="auth">
      <div class="auth__card">
        <h1 class="auth__title" tabIndex={-1} data-page-title>
          {isSignup ? 'Create your account' : 'Log in to omoi'}
        </h1>
        <p class="muted">From an idea to working code, through a spec you can watch and steer.</p>
        <form class="stack" onSubmit={onSubmit} noValidate data-testid={isSignup ? 'signup-form' : 'login-form'}>
          {isSignup ? (
            <Field id="auth-name" label="Name" error={fieldError('name')}>
              <input
                {...controlProps('auth-name', fieldError('name'))}
                type="text"
                autoComplete="name"
                required
                data-testid="auth-name"
                value={name.value}
                onInput={(e) => (name.value = e.currentTarget.value)}
              />
            </Field>
          ) : null}
          <Field id="auth-email" label="Email" error={fieldError('email')}>
            <input
              {...controlProps('auth-email', fieldError('email'))}
              type="email"
              autoComplete="email"
              required
              data-testid="auth-email"
              value={email.value}
              onInput={(e) => (email.value = e.currentTarget.value)}
            />
          </Field>
          <Field
            id="auth-password"
            label="Password"
            error={fieldError('password')}
            hint={isSignup ? 'At least 8 characters.' : null}
          >
            <input
              {...controlProps('auth-password', fieldError('password'), isSignup ? 'hint' : null)}
              type="password"
              autoComplete={isSignup ? 'new-password' : 'current-password'}
              required
              minLength={isSignup ? 8 : undefined}
              data-testid="auth-password"
              value={password.value}
              onInput={(e) => (password.value = e.currentTarget.value)}
            />
          </Field>
          <ErrorBanner error={error.value} extra={otherFieldMessages(error.value, claimed)} testid="auth-error" />
          <button type="submit" class="btn btn--primary btn--block" disabled={busy.value} data-testid="auth-submit">
            {busy.value ? (isSignup ? 'Creating account…' : 'Logging in…') : isSignup ? 'Sign up' : 'Log in'}
          </button>
        </form>
        <p class="auth__switch">
          {isSignup ? (
            <>
              Already have an account? <a href={`/login${suffix}`} data-testid="to-login">Log in</a>
            </>
          ) : (
            <>
              New here? <a href={`/signup${suffix}`} data-testid="to-signup">Create an account</a>
            </>
          )}
        </p>
      </div>
    </div>
  )
}
