import { isIPv4, isIPv6 } from 'node:net';

/**
 * What failed sign-ins from `ip` are counted against: an IPv4 address as it is, an IPv6
 * address by its /64 (a subscriber's usual allocation: one client can pick any address in it,
 * so counting single addresses would not limit it at all).
 *
 * @example
 * clientAddressKey('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 * clientAddressKey('::ffff:192.0.2.7')     // '192.0.2.7'
 */
export function clientAddressKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped && isIPv4(mapped[1])) return mapped[1];
  if (!isIPv6(ip)) return ip;
  const address = ip.split('%')[0];
  // An embedded IPv4 address (`::1.2.3.4`) takes the place of two groups.
  const groupsOf = (part: string) =>
    part ? part.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group])) : [];
  const [head, tail] = address.split('::');
  const left = groupsOf(head);
  const right = tail === undefined ? [] : groupsOf(tail);
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const prefix = groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16));
  return `${prefix.join(':')}::/64`;
}
