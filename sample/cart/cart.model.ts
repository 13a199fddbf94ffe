import { Field, Int, ObjectType } from '@nestjs/graphql';
import { CartItem } from './cart-item';

/** GraphQL `CartItem`: one line of the cart. */
@ObjectType('CartItem')
export class CartItemModel implements CartItem {
  @Field(() => String)
  sku!: string;

  @Field(() => Int)
  qty!: number;
}

/** GraphQL `Cart`: the session's cart, as `GET /api/cart` shows it. */
@ObjectType('Cart')
export class CartModel {
  @Field(() => [CartItemModel])
  items!: CartItemModel[];
}
