/**
 * What a channel handler module is written against (`import type { ChannelHandler } from
 * '…/lambdas/channel-handler/api.ts'`). The types live in core/ so the gateway's adapters can use
 * them without importing this handler folder.
 */
export type {
  ChannelContext,
  ChannelHandler,
  HandlerAction,
  HandlerInvocation,
  HandlerResult,
} from '../core/channel-handler-api.ts';
