import { Session } from 'nest-session-security';
import { addToCart, CartItem } from './cart-item';
// The typing of session.get('cart'), for compilations that start from another entry (tests).
import type {} from './cart.session-data';

/** The session's cart; an empty one when nothing was added (reading it stores nothing). */
export function cartOf(session: Session): CartItem[] {
  return session.get('cart') ?? [];
}

/**
 * Adds `item` to the session's cart, for the REST route and the GraphQL mutation alike. A
 * functional update: when the session is saved, `addToCart` is applied again to the cart as
 * stored then, so parallel adds (several tabs) all keep their item.
 */
export function addToSessionCart(session: Session, item: CartItem): CartItem[] {
  return session.update('cart', (cart) => addToCart(cart ?? [], item)) ?? [];
}
