import type Anthropic from '@anthropic-ai/sdk'

/**
 * The conversation as the Messages API must see it, built without I/O: clean assistant turns, prompt-cache
 * breakpoints, and a context budget. The worker keeps the conversation; these functions shape what is sent.
 */

/** The stub an old tool result is replaced by when the conversation outgrows the model's window. */
export const STUB_TEXT = '[older tool output removed to fit the context window; run the tool again if you still need it]'
/** ASCII code and JSON run near 3.5 characters per token; 3 errs on the side of sending less. */
const ASCII_CHARS_PER_TOKEN = 3
/** Other scripts cost more: a CJK character is 1 to 2 tokens, an accented letter or an emoji's half up to 2. */
const TOKENS_PER_OTHER_CHAR = 2

const EPHEMERAL = { type: 'ephemeral' } as const

/**
 * An answer's content as it may be sent back: text blocks that are empty or whitespace only are dropped (the API
 * refuses them with a 400), thinking and tool calls are kept as they came.
 */
export function cleanAssistantContent(content: Anthropic.ContentBlock[]): Anthropic.ContentBlockParam[] {
  const kept: Anthropic.ContentBlockParam[] = []
  for (const block of content) {
    if (block.type === 'text') {
      if (block.text.trim()) kept.push({ type: 'text', text: block.text })
    } else if (block.type === 'tool_use') {
      kept.push({ type: 'tool_use', id: block.id, name: block.name, input: block.input })
    } else if (block.type === 'thinking') {
      kept.push({ type: 'thinking', thinking: block.thinking, signature: block.signature })
    } else if (block.type === 'redacted_thinking') {
      kept.push({ type: 'redacted_thinking', data: block.data })
    }
  }
  return kept
}

function withBreakpoint(message: Anthropic.MessageParam): Anthropic.MessageParam {
  const content: Anthropic.ContentBlockParam[] =
    typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : [...message.content]
  const last = content.length - 1
  if (last < 0) return message
  content[last] = { ...content[last], cache_control: EPHEMERAL } as Anthropic.ContentBlockParam
  return { ...message, content } as Anthropic.MessageParam
}

/**
 * The request with prompt-cache breakpoints (at most 4): the tools, the system prompt, and — rolling — the newest
 * user turn and the one before it, so each turn reads what the last one wrote and writes only what is new.
 * The stored conversation is not changed.
 */
export function cachedRequest(r: {
  system: string
  tools: Anthropic.Tool[]
  messages: Anthropic.MessageParam[]
}): { system: Anthropic.TextBlockParam[]; tools: Anthropic.Tool[]; messages: Anthropic.MessageParam[] } {
  const tools = r.tools.map((t, i) => (i === r.tools.length - 1 ? { ...t, cache_control: EPHEMERAL } : t))
  const userTurns = r.messages.flatMap((m, i) => (m.role === 'user' ? [i] : [])).slice(-2)
  const messages = r.messages.map((m, i) => (userTurns.includes(i) ? withBreakpoint(m) : m))
  return { system: [{ type: 'text', text: r.system, cache_control: EPHEMERAL }], tools, messages }
}

/**
 * A deliberately high estimate of a value's tokens, from its JSON text (a string as is): ASCII characters at 3 a token,
 * every other UTF-16 unit (CJK, Cyrillic, accents, emoji halves) at 2 tokens, as the API's tokenizer counts them.
 */
export function estimateTokens(value: unknown): number {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  let other = 0
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) other++
  return Math.ceil((text.length - other) / ASCII_CHARS_PER_TOKEN) + other * TOKENS_PER_OTHER_CHAR
}

/** The estimated tokens of a conversation's messages (estimateTokens of each message's content). */
export function conversationTokens(messages: Anthropic.MessageParam[]): number {
  return messages.reduce((sum, m) => sum + estimateTokens(m.content), 0)
}

function toolResultsOf(message: Anthropic.MessageParam): Anthropic.ToolResultBlockParam[] {
  if (message.role !== 'user' || typeof message.content === 'string') return []
  return message.content.filter((b): b is Anthropic.ToolResultBlockParam => b.type === 'tool_result')
}

/**
 * Keeps a conversation inside `budget` tokens (with `fixed` tokens of system prompt and tools beside it): while it
 * is over, the oldest tool results still in full are replaced by STUB_TEXT; the newest turn is never touched. Once
 * trimming starts it goes down to `target` (a fraction of the budget), so it happens seldom and the cached prefix
 * stays stable in between. Changes `messages` in place; answers how many results were stubbed.
 */
export function fitToWindow(messages: Anthropic.MessageParam[], fixed: number, budget: number, target = 0.6): number {
  const total = () => fixed + conversationTokens(messages)
  if (total() <= budget) return 0
  let stubbed = 0
  let size = total()
  for (const message of messages.slice(0, -1)) {
    for (const result of toolResultsOf(message)) {
      if (result.content === STUB_TEXT) continue
      const before = estimateTokens(result.content ?? '')
      result.content = STUB_TEXT
      size -= before - estimateTokens(STUB_TEXT)
      stubbed++
      if (size <= budget * target) return stubbed
    }
  }
  return stubbed
}
