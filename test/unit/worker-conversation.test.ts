import type Anthropic from '@anthropic-ai/sdk'
import { describe, expect, it } from 'vitest'
import { outputBudgets } from '../../src/sandbox/worker/agent.ts'
import { cachedRequest, cleanAssistantContent, estimateTokens, fitToWindow, STUB_TEXT } from '../../src/sandbox/worker/conversation.ts'

const text = (t: string) => ({ type: 'text', text: t, citations: null }) as Anthropic.TextBlock
const call = (id: string) => ({ type: 'tool_use', id, name: 'list_files', input: {} }) as Anthropic.ToolUseBlock
const result = (id: string, content: string): Anthropic.ToolResultBlockParam => ({ type: 'tool_result', tool_use_id: id, content })

describe('the conversation the worker sends', () => {
  it('drops empty and whitespace-only text blocks from an answer, keeps the rest', () => {
    expect(cleanAssistantContent([text('\n\n'), text(''), text('Looking.'), call('a')])).toEqual([
      { type: 'text', text: 'Looking.' },
      { type: 'tool_use', id: 'a', name: 'list_files', input: {} },
    ])
  })

  it('puts four cache breakpoints: last tool, system, and the two newest user turns — without changing the conversation', () => {
    const messages: Anthropic.MessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: 'go' }] },
      { role: 'assistant', content: [call('a')] },
      { role: 'user', content: [result('a', 'one')] },
      { role: 'assistant', content: [call('b')] },
      { role: 'user', content: [result('b', 'two')] },
    ]
    const tools = [{ name: 't1', input_schema: { type: 'object' as const } }, { name: 't2', input_schema: { type: 'object' as const } }]
    const r = cachedRequest({ system: 'sys', tools, messages })
    const marked = JSON.stringify(r).match(/cache_control/g)
    expect(marked).toHaveLength(4)
    expect(r.tools[1]).toHaveProperty('cache_control')
    expect(r.system[0]).toHaveProperty('cache_control')
    expect((r.messages[2]!.content as Anthropic.ContentBlockParam[])[0]).toHaveProperty('cache_control')
    expect((r.messages[4]!.content as Anthropic.ContentBlockParam[])[0]).toHaveProperty('cache_control')
    expect(JSON.stringify(messages)).not.toContain('cache_control')
  })

  it('stubs the oldest tool results, never the newest turn, until the conversation fits', () => {
    const big = 'x'.repeat(3_000)
    const messages: Anthropic.MessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: 'go' }] },
      { role: 'assistant', content: [call('a')] },
      { role: 'user', content: [result('a', big)] },
      { role: 'assistant', content: [call('b')] },
      { role: 'user', content: [result('b', big)] },
      { role: 'assistant', content: [call('c')] },
      { role: 'user', content: [result('c', big)] },
    ]
    expect(fitToWindow(messages, 0, 2_500)).toBe(2)
    const contents = messages
      .flatMap((m) => (Array.isArray(m.content) ? m.content : []))
      .flatMap((b) => (b.type === 'tool_result' ? [b.content] : []))
    expect(contents).toEqual([STUB_TEXT, STUB_TEXT, big])
    expect(fitToWindow(messages, 0, 2_500)).toBe(0)
  })

  it('estimates no fewer tokens than the API counts, in any script', () => {
    // ASCII near 3.5 characters a token; CJK 1 to 2 tokens a character; an emoji 2 to 3
    expect(estimateTokens('x'.repeat(3_000))).toBe(1_000)
    expect(estimateTokens('汉字'.repeat(1_500))).toBeGreaterThanOrEqual(3_000 * 2)
    expect(estimateTokens('😀'.repeat(100))).toBeGreaterThanOrEqual(300)
    expect(estimateTokens({ text: 'Привет, мир' })).toBeGreaterThanOrEqual(10 * 2)
  })

  it('asks again with larger output budgets, up to the model maximum', () => {
    expect(outputBudgets(128_000)).toEqual([8_192, 32_000, 128_000])
    expect(outputBudgets(8_192)).toEqual([8_192])
    expect(outputBudgets(20_000)).toEqual([8_192, 20_000])
  })
})
