import { afterAll, describe, it } from 'vitest';
import {
  chatCommonRoomScenario,
  chatNotificationsScenario,
  chatRoomsScenario,
  echoScenario,
} from '../scenarios/seeds.ts';
import { localTarget } from './helpers.ts';

// The steps and assertions are the seed scenarios `npm run test:aws` runs against a deployed stack.
const target = localTarget();
afterAll(() => target.close());

describe('seed 001: the chat backend (a channel handler)', () => {
  it('five clients in two rooms and a notifications listener hear exactly what the seed says', () =>
    chatRoomsScenario(target));

  it('the common room has its own greeting, and a room the backend does not have is refused', () =>
    chatCommonRoomScenario(target));

  it('what a notifications listener sends reaches the other listeners', () =>
    chatNotificationsScenario(target));
});

describe('seed 003: EchoWebSocket', () => {
  it('echoes what a client sends, to that client only', () => echoScenario(target));
});
