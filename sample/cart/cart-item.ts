/** One line of the anonymous cart, as stored in the session (plain JSON). */
export interface CartItem {
  sku: string;
  qty: number;
}

/** Most of one article a cart line holds; also the bound of `qty` in a request. */
export const MAX_QTY = 99;

/** The cart with `item` added: a known SKU has its quantity raised (up to `MAX_QTY`). */
export function addToCart(items: readonly CartItem[], item: CartItem): CartItem[] {
  const existing = items.find((line) => line.sku === item.sku);
  if (!existing) return [...items, { sku: item.sku, qty: item.qty }];
  return items.map((line) =>
    line === existing ? { sku: line.sku, qty: Math.min(MAX_QTY, line.qty + item.qty) } : line,
  );
}
