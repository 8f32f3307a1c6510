import { describe, expect, it } from 'vitest'
import { SseUsage, usageOfJson } from '../../src/http/routes/model-upstream.ts'

describe('usage the proxy prices', () => {
  it('reads a streamed answer: prompt tokens from message_start, output from the last message_delta, across chunk cuts', () => {
    const sse = new SseUsage()
    const text = [
      'event: message_start',
      'data: {"type":"message_start","message":{"usage":{"input_tokens":12,"cache_creation_input_tokens":300,"cache_read_input_tokens":4000,"output_tokens":1}}}',
      '',
      'event: content_block_delta',
      'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}',
      '',
      'event: message_delta',
      'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":57}}',
      '',
      '',
    ].join('\n')
    for (let i = 0; i < text.length; i += 7) sse.push(text.slice(i, i + 7))
    expect(sse.total).toEqual({ input_tokens: 12, output_tokens: 57, cache_creation_input_tokens: 300, cache_read_input_tokens: 4000 })
  })

  it('reads a non-streamed answer, and an unreadable one as nothing', () => {
    expect(usageOfJson('{"usage":{"input_tokens":3,"output_tokens":4,"cache_read_input_tokens":null}}')).toEqual({
      input_tokens: 3,
      output_tokens: 4,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    })
    expect(usageOfJson('<html>')).toEqual({ input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 })
  })
})
