import { describe, expect, it } from 'vitest'
import { boardPath, matchRoute, safeNext, specPath } from '../../src/web/lib/routes.ts'

describe('matchRoute', () => {
  it('maps the UI paths to pages', () => {
    expect(matchRoute('/')).toEqual({ name: 'command' })
    expect(matchRoute('/board')).toEqual({ name: 'board' })
    expect(matchRoute('/board/')).toEqual({ name: 'board' })
    expect(matchRoute('/admin')).toEqual({ name: 'admin' })
    expect(matchRoute('/login')).toEqual({ name: 'login' })
    expect(matchRoute('/signup')).toEqual({ name: 'signup' })
    expect(matchRoute('/specs/spec_01jabc')).toEqual({ name: 'spec', id: 'spec_01jabc' })
  })

  it('round-trips spec ids through specPath', () => {
    expect(matchRoute(specPath('spec_a b'))).toEqual({ name: 'spec', id: 'spec_a b' })
  })

  it('sends unknown paths to not-found', () => {
    expect(matchRoute('/specs')).toMatchObject({ name: 'not_found' })
    expect(matchRoute('/specs/a/b')).toMatchObject({ name: 'not_found' })
    expect(matchRoute('/specs/%E0%A4%A')).toMatchObject({ name: 'not_found' })
  })

  it('builds board links with a project filter', () => {
    expect(boardPath('prj_1')).toBe('/board?project_id=prj_1')
    expect(boardPath(null)).toBe('/board')
  })
})

describe('safeNext', () => {
  it('follows local paths only', () => {
    expect(safeNext('/specs/spec_1')).toBe('/specs/spec_1')
    expect(safeNext('/board?project_id=p')).toBe('/board?project_id=p')
    expect(safeNext('https://evil.example/')).toBe('/')
    expect(safeNext('//evil.example/')).toBe('/')
    expect(safeNext(null)).toBe('/')
  })

  it('does not loop back to the auth pages', () => {
    expect(safeNext('/login')).toBe('/')
  })
})
