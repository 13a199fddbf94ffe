import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { CartItem, MAX_QTY } from './cart-item';

/** Body of `POST /api/cart/items`. */
export class CartItemDto implements CartItem {
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    message: 'sku must be 1 to 64 letters, digits, ".", "_" or "-"',
  })
  sku!: string;

  @IsInt()
  @Min(1)
  @Max(MAX_QTY)
  qty!: number;
}
