import type { CartItem } from './cart-item';

// Types the session data of the whole sample: `session.get('cart')` is a `CartItem[]`.
declare module 'nest-session-security' {
  interface SessionData {
    cart: CartItem[];
  }
}
