/**
 * `nest-session-security/testing`: helpers for the tests of an application that uses the
 * package. Nothing here is loaded by the main entry, and nothing here loads a test library: the
 * supertest client takes supertest's function from the test.
 */
export { ManualClock } from '../core/clock';
export {
  SessionTestClient,
  type SessionTestClientOptions,
  type TestRequestInit,
  type TestRequestMethod,
} from './session-test-client';
export { SessionTestClientError } from './session-test-client-error';
export type { SessionTestTransport, OutgoingRequest, ReceivedResponse } from './transport';
export type {
  SupertestFunction,
  SupertestPendingRequest,
  SupertestResponseShape,
} from './supertest-transport';
export type { FetchFunction } from './fetch-transport';
