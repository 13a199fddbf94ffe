import { Injectable } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { FRESH_AUTH_KEY } from '../decorators/fresh-auth.decorator';
import { SESSION_ACCESS_KEY } from '../decorators/route-access.decorators';
import { DefaultRouteAccess } from '../options/session-options';
import { InjectSessionOptions } from '../options/session-options.token';
import type { ResolvedSessionOptions } from '../options/resolve-session-options';

/** What `@WebSocketGateway()` and `@SubscribeMessage()` write, read without `@nestjs/websockets`. */
const GATEWAY_METADATA = 'websockets:is_gateway';
const GATEWAY_OPTIONS = 'websockets:gateway_options';
const MESSAGE_MAPPING_METADATA = 'websockets:message_mapping';
const MESSAGE_METADATA = 'message';

/** A gateway's class, as Nest's container holds it. */
type GatewayClass = abstract new (...args: never[]) => unknown;

/** A message handler's session requirements. */
export interface MessageRules {
  access: DefaultRouteAccess;
  freshAuthMaxAge: number | undefined;
}

/** One gateway's requirements: for opening a socket, and per message it subscribes to. */
interface Gateway {
  access: DefaultRouteAccess;
  messages: Map<string, MessageRules>;
}

/** A path as `@nestjs/platform-ws` matches it: one leading slash, no trailing one. */
function normalizedPath(path: string): string {
  return `/${path.replace(/^\/+|\/+$/g, '')}`;
}

function pathOf(url: string | undefined): string {
  return normalizedPath(new URL(url ?? '/', 'ws://gateway').pathname);
}

/**
 * The session requirements of the app's WebSocket gateways, read once from their decorators:
 * `@Public()` / `@Authenticated()` on the gateway class (else the module's `defaultAccess`)
 * decide who may open a socket; on a `@SubscribeMessage()` handler they decide, with
 * `@RequireFreshAuth()`, who may send that message. Nest's global guards do not run for
 * gateways, so the socket adapter applies these itself: a gateway is never open by omission.
 * Gateways are told apart by their `path`; one no gateway declares gets `defaultAccess`.
 */
@Injectable()
export class GatewayRules {
  private byPath: Map<string, Gateway> | null = null;

  constructor(
    private readonly modules: ModulesContainer,
    @InjectSessionOptions() private readonly options: ResolvedSessionOptions,
  ) {}

  /** Who may open a socket on the gateway serving `url` (a handshake's request URL). */
  connectionAccess(url: string | undefined): DefaultRouteAccess {
    return this.gateways().get(pathOf(url))?.access ?? this.options.defaultAccess;
  }

  /** Who may send `event` on the gateway serving `url`. */
  messageRules(url: string | undefined, event: unknown): MessageRules {
    const gateway = this.gateways().get(pathOf(url));
    const rules = typeof event === 'string' ? gateway?.messages.get(event) : undefined;
    return (
      rules ?? {
        access: gateway?.access ?? this.options.defaultAccess,
        freshAuthMaxAge: undefined,
      }
    );
  }

  private gateways(): Map<string, Gateway> {
    if (this.byPath) return this.byPath;
    const byPath = new Map<string, Gateway>();
    for (const module of this.modules.values()) {
      for (const provider of module.providers.values()) {
        const type = provider.metatype;
        if (typeof type !== 'function' || !Reflect.getMetadata(GATEWAY_METADATA, type)) continue;
        const options = Reflect.getMetadata(GATEWAY_OPTIONS, type) as { path?: string } | undefined;
        byPath.set(normalizedPath(options?.path ?? '/'), this.gatewayOf(type as GatewayClass));
      }
    }
    return (this.byPath = byPath);
  }

  private gatewayOf(type: GatewayClass): Gateway {
    const read = <T>(key: string, target: object) =>
      Reflect.getMetadata(key, target) as T | undefined;
    const access = read<DefaultRouteAccess>(SESSION_ACCESS_KEY, type) ?? this.options.defaultAccess;
    const messages = new Map<string, MessageRules>();
    const handlers = new Set<object>();
    // Handlers a gateway inherits count too; a subclass's own method wins.
    for (let proto = type.prototype as object | null; proto && proto !== Object.prototype;) {
      for (const name of Object.getOwnPropertyNames(proto)) {
        const value = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
        if (typeof value === 'function') handlers.add(value as object);
      }
      proto = Object.getPrototypeOf(proto) as object | null;
    }
    for (const handler of handlers) {
      if (!read<boolean>(MESSAGE_MAPPING_METADATA, handler)) continue;
      const event = String(read<string>(MESSAGE_METADATA, handler));
      if (messages.has(event)) continue;
      messages.set(event, {
        access: read<DefaultRouteAccess>(SESSION_ACCESS_KEY, handler) ?? access,
        freshAuthMaxAge:
          read<number>(FRESH_AUTH_KEY, handler) ?? read<number>(FRESH_AUTH_KEY, type),
      });
    }
    return { access, messages };
  }
}
