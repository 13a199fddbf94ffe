import { UseFilters } from '@nestjs/common';
import { Args, Mutation, Resolver } from '@nestjs/graphql';
import { CurrentSession, Public, Session } from 'nest-session-security';
import { GraphqlErrorFilter } from '../graphql/graphql-error.filter';
import { CartItemDto } from './cart-item.dto';
import { CartModel } from './cart.model';
import { addToSessionCart } from './session-cart';

/**
 * The anonymous cart over GraphQL: `addToCart` adds to the cart `POST /api/cart/items` adds to.
 * A mutation changes state, so it needs the CSRF token in `x-csrf-token` like any unsafe
 * request (the `SessionGuard` checks it before the resolver runs).
 */
@Public()
@UseFilters(GraphqlErrorFilter)
@Resolver(() => CartModel)
export class CartResolver {
  @Mutation(() => CartModel)
  addToCart(@CurrentSession() session: Session, @Args() item: CartItemDto): CartModel {
    return { items: addToSessionCart(session, item) };
  }
}
