/**
 * Planning outputs as Kiro-style markdown documents (`requirements.md`, `design.md`, `tasks.md`). Pure: the export
 * route (GET /specs/:id/artifacts/:name.md) and the web app's document view render the same text.
 */
import type { Design, Requirements, Tasks } from './phase-outputs.ts'

export const MARKDOWN_ARTIFACTS = ['requirements', 'design', 'tasks'] as const
export type MarkdownArtifact = (typeof MARKDOWN_ARTIFACTS)[number]

/** A spec as the documents need it. */
export interface DocumentSpec {
  title: string
  description: string
}

/** The id of acceptance criterion `index` (0-based) of a requirement: `REQ-001.2` (1-based, CONTRACT §8). */
export const criterionId = (requirementId: string, index: number) => `${requirementId}.${index + 1}`

/** Text on one line (a table cell or list item must not break the document's structure). */
const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|')

export function requirementsMarkdown(spec: DocumentSpec, r: Requirements): string {
  const out = [`# Requirements Document: ${oneLine(spec.title)}`, '', '## Introduction', '', spec.description.trim(), '', '## Requirements', '']
  r.requirements.forEach((req, i) => {
    out.push(`### Requirement ${i + 1}: ${oneLine(req.title)} (${req.id})`, '')
    out.push(`**Priority:** ${req.priority}`, '', `**Requirement:** ${oneLine(req.ears)}`, '')
    if (req.acceptance_criteria.length > 0) {
      out.push('#### Acceptance Criteria', '')
      req.acceptance_criteria.forEach((c, j) => out.push(`${j + 1}. **${criterionId(req.id, j)}** ${oneLine(c)}`))
      out.push('')
    }
  })
  return out.join('\n')
}

export function designMarkdown(spec: DocumentSpec, d: Design): string {
  const out = [`# Design Document: ${oneLine(spec.title)}`, '', '## Overview', '', d.overview.trim(), '']
  if (d.components.length > 0) {
    out.push('## Components and Interfaces', '')
    for (const c of d.components) {
      out.push(`### ${oneLine(c.name)}`, '', c.responsibility.trim(), '')
      if (c.files.length > 0) out.push(`Files: ${c.files.map((f) => `\`${oneLine(f)}\``).join(', ')}`, '')
    }
  }
  if (d.data_models.length > 0) {
    out.push('## Data Models', '')
    for (const m of d.data_models) {
      out.push(`### ${oneLine(m.name)}`, '', ...m.fields.map((f) => `- ${oneLine(f)}`), '')
    }
  }
  if (d.api.length > 0) {
    out.push('## API', '', '| Method | Path | Description |', '| --- | --- | --- |')
    for (const a of d.api) out.push(`| ${oneLine(a.method)} | \`${oneLine(a.path)}\` | ${oneLine(a.description)} |`)
    out.push('')
  }
  if (d.risks.length > 0) out.push('## Risks', '', ...d.risks.map((r) => `- ${oneLine(r)}`), '')
  out.push('## Testing Strategy', '', d.testing_strategy.trim(), '')
  return out.join('\n')
}

/** `done`: the plan ids (TSK-…) of the tasks already completed, checked off in the list. */
export function tasksMarkdown(spec: DocumentSpec, t: Tasks, done: ReadonlySet<string> = new Set()): string {
  const out = [`# Implementation Plan: ${oneLine(spec.title)}`, '']
  t.tickets.forEach((ticket, i) => {
    out.push(`## ${i + 1}. ${oneLine(ticket.title)} (${ticket.id}, ${ticket.priority})`, '', ticket.description.trim(), '')
    for (const task of t.tasks.filter((k) => k.ticket === ticket.id)) {
      out.push(`- [${done.has(task.id) ? 'x' : ' '}] ${task.id} ${oneLine(task.title)}`)
      out.push(`  - ${oneLine(task.description)}`)
      if (task.files.length > 0) out.push(`  - Files: ${task.files.map((f) => `\`${oneLine(f)}\``).join(', ')}`)
      if (task.depends_on.length > 0) out.push(`  - Depends on: ${task.depends_on.join(', ')}`)
      out.push(`  - _Requirements: ${task.requirements.length > 0 ? task.requirements.join(', ') : 'none'}_`)
    }
    out.push('')
  })
  return out.join('\n')
}
