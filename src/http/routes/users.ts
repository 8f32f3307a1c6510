import { Hono, type MiddlewareHandler } from 'hono'
import type { Config } from '../../config.ts'
import type { Sql } from '../../db/connect.ts'
import { insertUser, publicUser } from '../../db/users.ts'
import { AppError } from '../../errors.ts'
import { newId } from '../../ids.ts'
import { hashPassword } from '../../auth/password.ts'
import { SignupSchema } from '../../schemas/api.ts'
import { readBody, requireUser, type Env } from '../middleware.ts'
import { doc } from '../openapi.ts'
import { UserAnswer } from '../../schemas/responses.ts'
import * as v from 'valibot'

/** POST /api/v1/users: an admin adds a person (the way in when OMOI_SIGNUP=closed). Answers 201 `{user}`. */
export function userRoutes(sql: Sql, config: Pick<Config, 'adminEmails'>) {
  return new Hono<Env>().post('/', doc({ summary: 'Add a person (admins only)', tag: 'auth', body: SignupSchema, status: 201, answer: v.looseObject({ user: UserAnswer }) }), async (c) => {
    const identity = requireUser(c)
    if (identity.user.role !== 'admin') throw new AppError('forbidden', 'Only admins add people.')
    const body = await readBody(c, SignupSchema)
    const role = config.adminEmails.has(body.email) ? 'admin' : 'user'
    const user = await insertUser(sql, { id: newId('usr'), email: body.email, name: body.name, role, password_hash: await hashPassword(body.password) })
    if (!user) throw new AppError('conflict', 'An account with this email already exists.', { email: ['is already registered'] })
    return c.json({ user: publicUser(user) }, 201)
  })
}

/**
 * With OMOI_SIGNUP=closed, POST /auth/signup is refused (403) except for the emails in OMOI_ADMIN_EMAILS, so the first
 * admin can still get in; everyone else is added by an admin.
 */
export function closedSignup(config: Pick<Config, 'signup' | 'adminEmails'>): MiddlewareHandler<Env> {
  return async function closedSignup(c, next) {
    if (config.signup === 'closed' && c.req.method === 'POST') {
      let email = ''
      try {
        email = String((JSON.parse(await c.req.text()) as { email?: unknown }).email ?? '').trim().toLowerCase()
      } catch {
        // not JSON: refused below like any other stranger
      }
      if (!config.adminEmails.has(email)) {
        throw new AppError('forbidden', 'Signup is closed on this server: ask an admin to add you (POST /api/v1/users).')
      }
    }
    await next()
  }
}
