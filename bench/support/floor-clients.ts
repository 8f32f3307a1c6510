import { randomUUID } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { serveChild } from './child.ts'
import { quantile, sleep } from './stats.ts'

/**
 * The receivers and the sender of the fan-out floor (bench/support/floor.ts), in one process so that send and receipt
 * times come from one clock: `viewers` raw TCP connections, and POSTs paced as the fan-out phases pace them. Each
 * connection reads length-prefixed frames (`post` u32, `length` u32, then the POST's bytes) and stamps each on arrival.
 */

export interface FloorJob {
  /** The floor server's POST endpoint and its TCP port for receivers. */
  postUrl: string
  port: number
  viewers: number
  events: number
  /** Events per POST. */
  batch: number
  ratePerSec: number
  /** The event text, as the fan-out phases post it. */
  text: string
}

export interface FloorAnswer {
  p50: number
  p99: number
  max: number
  received: number
  expected: number
}

const clock = () => performance.now()

serveChild<FloorJob, FloorAnswer>(async (job) => {
  const posts = Math.ceil(job.events / job.batch)
  const sentAt = new Float64Array(posts)
  const latency = new Float64Array(job.viewers * posts).fill(NaN)
  let received = 0
  const sockets: Socket[] = []
  for (let from = 0; from < job.viewers; from += 50) {
    const wave = Array.from({ length: Math.min(50, job.viewers - from) }, (_, k) => open(from + k))
    sockets.push(...(await Promise.all(wave)))
  }

  function open(v: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect(job.port, '127.0.0.1', () => resolve(socket))
      socket.once('error', reject)
      socket.setNoDelay(true)
      let buffered: Buffer = Buffer.alloc(0)
      socket.on('data', (chunk: Buffer) => {
        const at = clock()
        buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk
        while (buffered.length >= 8 && buffered.length >= 8 + buffered.readUInt32LE(4)) {
          const post = buffered.readUInt32LE(0)
          buffered = buffered.subarray(8 + buffered.readUInt32LE(4))
          if (post < posts && Number.isNaN(latency[v * posts + post]!)) {
            latency[v * posts + post] = at - sentAt[post]!
            received++
          }
        }
      })
    })
  }

  // unmeasured first, as the fan-out phases' warmSender: the sender's connection and the server's path set up once
  const postBody = (post: number) =>
    JSON.stringify({ post, events: Array.from({ length: job.batch }, (_, k) => ({ id: randomUUID(), type: 'agent.message', data: { text: job.text, p: 0, n: post * job.batch + k } })) })
  for (let i = 0; i < 3; i++) await (await fetch(job.postUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: postBody(posts + i) })).text()
  await sleep(500)
  const sendStart = clock()
  const answers: Promise<unknown>[] = []
  for (let post = 0; post < posts; post++) {
    const wait = sendStart + ((Math.min(job.events, (post + 1) * job.batch) - 1) * 1000) / job.ratePerSec - clock()
    if (wait > 0) await sleep(wait)
    const body = postBody(post)
    sentAt[post] = clock()
    answers.push(fetch(job.postUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((res) => res.text()))
  }
  await Promise.all(answers)
  const expected = job.viewers * posts
  const until = clock() + 5_000
  while (received < expected && clock() < until) await sleep(20)
  for (const s of sockets) s.destroy()
  const all = latency.filter((x) => !Number.isNaN(x))
  return { p50: quantile(all, 0.5), p99: quantile(all, 0.99), max: all.reduce((a, b) => Math.max(a, b), 0), received, expected }
})
