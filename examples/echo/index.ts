/** Seed 003's echo service as a streamgate channel handler: every frame comes back to its sender. */
import type { ChannelHandler } from '../../lambdas/channel-handler/api.ts';

export const handler: ChannelHandler = {
  onMessage(ctx, message) {
    ctx.reply(message);
  },
};
