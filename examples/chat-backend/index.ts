/**
 * Seed 001's chat server as a streamgate channel handler: the WSO2 sample WebSocket backend's
 * behaviour, serverless. `/notifications` listeners are told who joins which room; rooms room1,
 * room2 and common exist; what a member says reaches the room's other members.
 */
import type { ChannelHandler } from '../../lambdas/channel-handler/api.ts';

const ROOMS: Record<string, string> = { room1: 'room1', room2: 'room2', common: 'the common room' };

export const handler: ChannelHandler = {
  onConnect(ctx) {
    if (ctx.topic === '/notifications') {
      ctx.reply('Subscribed to notifications!');
      return;
    }
    const room = ROOMS[ctx.params.roomID ?? ''];
    if (!room) {
      ctx.reject(404, `there is no room ${ctx.params.roomID}; rooms are ${Object.keys(ROOMS).join(', ')}`);
      return;
    }
    ctx.reply(`You joined ${room}!`);
    ctx.publish('/notifications', `Someone joined ${room}!`);
  },

  onMessage(ctx, message) {
    // In a room and on the notifications channel alike, everyone else hears it.
    ctx.broadcast(message);
  },
};
