import { describe, expectTypeOf, it } from 'vitest'
import type { ActorInspection, ActorSummary } from '../../src/actors/host-api.ts'
import type { ErrorCode } from '../../src/errors.ts'
import type { SpecEvent } from '../../src/schemas/events.ts'
import type { PresentedSpec } from '../../src/schemas/present.ts'
import type {
  AdminClientToServerEvents,
  AdminNamespace,
  AnswerOf,
  ClientToServerEvents,
  CommandAnswer,
  JoinAnswer,
  Presence,
  PresenceDelta,
  Refusal,
  ServerToClientEvents,
  SpecNamespace,
  SpecSocket,
} from '../../src/sockets/types.ts'
import type { TestSocket } from '../support/socket-client.ts'

/** The event maps of CONTRACT §6, checked by tsc (`npm run typecheck`) and run by vitest so they cannot be switched off. */
describe('socket event maps', () => {
  it('types each client request with its payload and its ack', () => {
    expectTypeOf<Parameters<ClientToServerEvents['spec:join']>[0]>().toEqualTypeOf<{
      spec_id: string
      after_seq?: number
      batch?: boolean
      presence?: boolean
    }>()
    expectTypeOf<AnswerOf<ClientToServerEvents['spec:join']>>().toEqualTypeOf<JoinAnswer>()
    expectTypeOf<AnswerOf<ClientToServerEvents['spec:leave']>>().toEqualTypeOf<{ ok: true } | Refusal>()
    expectTypeOf<AnswerOf<ClientToServerEvents['spec:command']>>().toEqualTypeOf<CommandAnswer>()
    expectTypeOf<Parameters<ClientToServerEvents['spec:command']>[0]['command']>().toEqualTypeOf<
      'approve' | 'revise' | 'pause' | 'resume' | 'cancel' | 'retry' | 'message'
    >()
    expectTypeOf<Extract<JoinAnswer, { ok: true }>['events']>().toEqualTypeOf<SpecEvent[]>()
    expectTypeOf<Extract<JoinAnswer, { ok: false }>['error']['code']>().toEqualTypeOf<ErrorCode>()
  })

  it('types what the server emits to rooms', () => {
    expectTypeOf<Parameters<ServerToClientEvents['spec:event']>>().toEqualTypeOf<[event: SpecEvent]>()
    expectTypeOf<Parameters<ServerToClientEvents['spec:state']>>().toEqualTypeOf<[spec: PresentedSpec]>()
    expectTypeOf<Parameters<ServerToClientEvents['spec:events']>>().toEqualTypeOf<[events: SpecEvent[]]>()
    expectTypeOf<Parameters<ServerToClientEvents['spec:presence']>>().toEqualTypeOf<[presence: Presence | PresenceDelta]>()
    const emitEvent = (nsp: SpecNamespace, event: SpecEvent) => nsp.to('spec:x').emit('spec:event', event)
    // @ts-expect-error a spec:event carries an event, not a spec
    const wrong = (nsp: SpecNamespace, spec: PresentedSpec) => nsp.to('spec:x').emit('spec:event', spec)
    // @ts-expect-error no such server event
    const unknown = (socket: SpecSocket) => socket.emit('spec:evnt', {})
    expectTypeOf(emitEvent).returns.toEqualTypeOf<boolean>()
    expectTypeOf(wrong).toBeFunction()
    expectTypeOf(unknown).toBeFunction()
  })

  it('types the admin namespace, whose list and watch come with the ack alone', () => {
    expectTypeOf<Parameters<AdminClientToServerEvents['actors:list']>>().toEqualTypeOf<[ack: (actors: ActorSummary[]) => void]>()
    expectTypeOf<AnswerOf<AdminClientToServerEvents['actor:inspect']>>().toEqualTypeOf<ActorInspection | Refusal>()
    expectTypeOf<AnswerOf<AdminClientToServerEvents['actors:watch']>>().toEqualTypeOf<{ ok: true }>()
    const transition = (nsp: AdminNamespace) => nsp.emit('actor:transition', { spec_id: 's', from: 'a', to: 'b', event: 'E', at: 'now' })
    expectTypeOf(transition).returns.toEqualTypeOf<boolean>()
  })

  it('gives a typed client the same maps', () => {
    expectTypeOf<TestSocket['emitWithAck']>().parameter(0).toEqualTypeOf<keyof ClientToServerEvents>()
    const listen = (socket: TestSocket) => socket.on('spec:event', (event) => expectTypeOf(event).toEqualTypeOf<SpecEvent>())
    expectTypeOf(listen).toBeFunction()
  })
})
