import { get } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectCast, type Api } from '../support/api.ts'
import { goodRequirements } from '../support/fixtures.ts'
import { launchSpec, waitForStatus } from '../support/omoi.ts'
import { makeRepo } from '../support/repo.ts'
import { startStack, type Stack } from '../support/stack.ts'

/** Issue 14: documents exported as markdown, the spec list per project, and how the web app is delivered. */

let stack: Stack
let owner: Api
let viewer: Api
let outsider: Api
let projectId: string
let specId: string

beforeAll(async () => {
  stack = await startStack()
  ;({ owner, viewer, outsider, projectId } = await projectCast(stack.server.url, await makeRepo()))
  specId = await launchSpec(owner, projectId, 'Due dates for todos')
  await waitForStatus(owner, specId, ['completed', 'failed'], 120_000)
}, 150_000)
afterAll(() => stack?.stop())

const raw = (path: string, api: Api, headers: Record<string, string> = {}) =>
  fetch(`${stack.server.url}${path}`, { headers: { authorization: `Bearer ${api.token}`, ...headers } })

const rawBytes = (url: string) =>
  new Promise<Buffer>((resolve, reject) => {
    get(url, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve(Buffer.concat(chunks)))
    }).on('error', reject)
  })

describe('GET /specs/:id/artifacts/:name.md', () => {
  it('answers requirements, design and tasks as Kiro-style markdown with REQ-n.m criteria and finished tasks checked', async () => {
    const req = await raw(`/api/v1/specs/${specId}/artifacts/requirements.md`, viewer)
    expect(req.status).toBe(200)
    expect(req.headers.get('content-type')).toMatch(/^text\/markdown/)
    expect(req.headers.get('content-disposition')).toBe('attachment; filename="requirements.md"')
    const text = await req.text()
    expect(text.startsWith('# Requirements Document: Due dates for todos\n')).toBe(true)
    const first = goodRequirements.requirements[0]!
    expect(text).toContain(`### Requirement 1: ${first.title} (${first.id})`)
    expect(text).toContain(`1. **${first.id}.1** ${first.acceptance_criteria[0]}`)

    const design = await (await raw(`/api/v1/specs/${specId}/artifacts/design.md`, owner)).text()
    expect(design).toMatch(/^# Design Document: .*\n\n## Overview\n/)
    const tasks = await (await raw(`/api/v1/specs/${specId}/artifacts/tasks.md`, owner)).text()
    expect(tasks).toMatch(/^# Implementation Plan: /)
    expect(tasks).toMatch(/- \[x\] TSK-001 /)
    expect(tasks).not.toMatch(/- \[ \] TSK-/)
  })

  it('an unknown document is a 404 naming the ones there are; a stranger gets 404', async () => {
    const res = await owner.get(`/specs/${specId}/artifacts/exploration.md`)
    expect(res.status).toBe(404)
    expect(res.body.error.message).toContain('requirements.md, design.md or tasks.md')
    expect((await outsider.get(`/specs/${specId}/artifacts/requirements.md`)).status).toBe(404)
  })
})

describe('GET /projects/:id/specs', () => {
  it('filters by status, searches titles and pages, with the total', async () => {
    for (const title of ['Alpha export', 'Beta export', 'Gamma 100% done']) {
      await owner.post('/specs', { project_id: projectId, title, description: 'x' })
    }
    const all = (await viewer.get(`/projects/${projectId}/specs`)).body
    expect(all.total).toBe(4)
    const drafts = (await owner.get(`/projects/${projectId}/specs?status=draft`)).body
    expect(drafts.specs.map((s: any) => s.title)).toEqual(['Gamma 100% done', 'Beta export', 'Alpha export'])
    expect((await owner.get(`/projects/${projectId}/specs?status=completed`)).body.specs.map((s: any) => s.id)).toEqual([specId])
    expect((await owner.get(`/projects/${projectId}/specs?q=EXPORT`)).body).toMatchObject({ total: 2 })
    expect((await owner.get(`/projects/${projectId}/specs?q=100%25`)).body.specs.map((s: any) => s.title)).toEqual(['Gamma 100% done'])
    const page = (await owner.get(`/projects/${projectId}/specs?limit=2&offset=2`)).body
    expect(page).toMatchObject({ total: 4 })
    expect(page.specs.map((s: any) => s.title)).toEqual(['Alpha export', 'Due dates for todos'])
    const bad = await owner.get(`/projects/${projectId}/specs?status=done&limit=0`)
    expect(bad.status).toBe(400)
    expect(Object.keys(bad.body.error.fields).sort()).toEqual(['limit', 'status'])
  })
})

describe('delivery of the web app', () => {
  it('compresses, caches hashed assets for good, publishes no source map, and sends a CSP on every page', async () => {
    const page = await raw('/specs/some', owner, { 'accept-encoding': 'gzip' })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    expect(page.headers.get('cache-control')).toBe('no-cache')
    const html = await page.text()
    const script = /src="(\/app\.js\?v=[0-9a-f]+)"/.exec(html)![1]!

    const js = await fetch(`${stack.server.url}${script}`, { headers: { 'accept-encoding': 'gzip' } })
    expect(js.headers.get('content-encoding')).toBe('gzip')
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(js.headers.get('content-security-policy')).toContain("default-src 'self'")
    // fetch decompresses by itself; read the bytes as they travel.
    const wire = await rawBytes(`${stack.server.url}${script}`)
    expect(gunzipSync(wire).byteLength).toBeGreaterThan(wire.byteLength * 2)
    expect((await fetch(`${stack.server.url}/app.js.map`)).status).toBe(404)
  })
})
