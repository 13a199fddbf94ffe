import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { CurrentSession, Public, Session } from 'nest-session-security';
import { addToCart, CartItem } from './cart-item';
import { CartItemDto } from './cart-item.dto';
// The typing of session.get('cart'), for compilations that start from another entry (tests).
import type {} from './cart.session-data';

/**
 * An anonymous cart kept in the session. Reading it writes nothing, so a visitor who only
 * looks gets no session row and no cookie (lazy sessions); the first item creates both, and the
 * cart survives sign-in because `authenticate` carries anonymous data over. The package's
 * `maxDataSize` bounds how many lines it can hold (413 past the limit).
 */
@Public()
@Controller('cart')
export class CartController {
  @Get()
  get(@CurrentSession() session: Session): { items: CartItem[] } {
    return { items: session.get('cart') ?? [] };
  }

  /**
   * A functional update: when the response is saved, `addToCart` is applied again to the cart
   * as stored then, so parallel adds (several tabs) all keep their item.
   */
  @Post('items')
  add(@CurrentSession() session: Session, @Body() item: CartItemDto): { items: CartItem[] } {
    const items = session.update('cart', (cart) => addToCart(cart ?? [], item));
    return { items: items ?? [] };
  }

  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  clear(@CurrentSession() session: Session): void {
    session.delete('cart');
  }
}
