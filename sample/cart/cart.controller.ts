import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { CurrentSession, Public, Session } from 'nest-session-security';
import { CartItem } from './cart-item';
import { CartItemDto } from './cart-item.dto';
import { addToSessionCart, cartOf } from './session-cart';

/**
 * An anonymous cart kept in the session. Reading it writes nothing, so a visitor who only
 * looks gets no session row and no cookie (lazy sessions); the first item creates both, and the
 * cart survives sign-in because `authenticate` carries anonymous data over. The package's
 * `maxDataSize` bounds how many lines it can hold (413 past the limit). The GraphQL mutation
 * `addToCart` (`cart.resolver.ts`) adds to the same cart.
 */
@Public()
@Controller('cart')
export class CartController {
  @Get()
  get(@CurrentSession() session: Session): { items: CartItem[] } {
    return { items: cartOf(session) };
  }

  @Post('items')
  add(@CurrentSession() session: Session, @Body() item: CartItemDto): { items: CartItem[] } {
    return { items: addToSessionCart(session, item) };
  }

  @Delete()
  @HttpCode(HttpStatus.NO_CONTENT)
  clear(@CurrentSession() session: Session): void {
    session.delete('cart');
  }
}
