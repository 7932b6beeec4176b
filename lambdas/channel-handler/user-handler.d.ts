/** The user's channel handler module, bound to this alias when its function is bundled. */
declare module 'streamgate-user-handler' {
  import type { ChannelHandler } from '../core/channel-handler-api.ts';
  export const handler: ChannelHandler;
}
