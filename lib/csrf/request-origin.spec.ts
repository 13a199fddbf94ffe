import { checkProvenance } from './request-origin';

describe('checkProvenance', () => {
  const host = 'app.example.com';
  it.each([
    [{ secFetchSite: 'same-origin', origin: 'https://app.example.com', host }, [], null],
    [{ secFetchSite: 'none', host }, [], null],
    [{ host }, [], null],
    [{ origin: 'https://app.example.com', host }, [], null],
    [{ origin: 'https://APP.example.com', host: 'App.Example.com' }, [], null],
    [{ secFetchSite: 'cross-site', origin: 'https://evil.test', host }, [], 'cross-site'],
    [{ secFetchSite: 'Cross-Site', host }, [], 'cross-site'],
    [{ secFetchSite: 'same-site', origin: 'https://blog.example.com', host }, [], 'same-site'],
    [
      { secFetchSite: 'same-site', origin: 'https://blog.example.com', host },
      ['https://blog.example.com'],
      null,
    ],
    [{ origin: 'null', host }, [], 'null-origin'],
    [{ origin: 'https://evil.test', host }, [], 'foreign-origin'],
    [{ origin: 'https://app.example.com.evil.test', host }, [], 'foreign-origin'],
    [{ origin: 'not a url', host }, [], 'foreign-origin'],
    [{ origin: 'https://partner.test', host }, ['https://partner.test'], null],
    [{ secFetchSite: 'same-origin', origin: 'https://evil.test', host }, [], 'foreign-origin'],
  ] as const)('R15 %j with trusted %j -> %s', (request, trusted, expected) => {
    expect(checkProvenance(request, trusted)).toBe(expected);
  });
});
