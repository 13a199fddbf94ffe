import { ArgsType, Field, Int } from '@nestjs/graphql';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { CartItem, MAX_QTY } from './cart-item';

/**
 * Body of `POST /api/cart/items`, and the arguments of the GraphQL mutation `addToCart`: one
 * class, so both ways into the cart accept exactly the same items (the global validation pipe
 * checks resolver arguments as it checks bodies).
 */
@ArgsType()
export class CartItemDto implements CartItem {
  @Field(() => String)
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    message: 'sku must be 1 to 64 letters, digits, ".", "_" or "-"',
  })
  sku!: string;

  @Field(() => Int)
  @IsInt()
  @Min(1)
  @Max(MAX_QTY)
  qty!: number;
}
