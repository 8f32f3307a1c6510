import type { Server } from 'node:http'
import type { Duplex } from 'node:stream'

/**
 * Requests Node's HTTP parser refuses before any route sees them (a URL and headers over its 16 KB limit, bytes that
 * are not HTTP/1.1, a request that never finished arriving) get the CONTRACT §2 error body too, not Node's bare status
 * line. Written on the raw socket, which is then closed: the parser cannot go on after such a request.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex & { _httpMessage?: { headersSent?: boolean } | null }) => {
    // a reset peer cannot be answered, nor one whose answer is already under way: Node's own default handler looks at
    // the socket's in-flight response the same way (a kept-alive socket has written earlier answers, so no byte count)
    if (err.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent) {
      socket.destroy()
      return
    }
    socket.end(rawAnswer(clientErrorAnswer(err.code)))
  })
}

interface Answer {
  status: number
  reason: string
  code: string
  message: string
}

/** The answer to one of Node's parser errors (`err.code`: HPE_HEADER_OVERFLOW, ERR_HTTP_REQUEST_TIMEOUT, HPE_…). */
export function clientErrorAnswer(errCode: string | undefined): Answer {
  if (errCode === 'HPE_HEADER_OVERFLOW') {
    return {
      status: 431,
      reason: 'Request Header Fields Too Large',
      code: 'too_large',
      message: 'The URL and headers of the request are larger than 16 KB: shorten the query string (long input belongs in a JSON body).',
    }
  }
  if (errCode === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, reason: 'Request Timeout', code: 'bad_request', message: 'The request did not arrive in time: send it again.' }
  }
  return { status: 400, reason: 'Bad Request', code: 'bad_request', message: 'The request is not valid HTTP/1.1: check the request line and headers.' }
}

function rawAnswer({ status, reason, code, message }: Answer): string {
  const body = JSON.stringify({ error: { code, message } })
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  )
}
