import {
  checkProvenance,
  ownOrigin,
  ProvenanceProblem,
  RequestProvenance,
  serializedOrigin,
} from './request-origin';

describe('serializedOrigin', () => {
  it.each([
    ['https://app.example.com', 'https://app.example.com'],
    ['http://app.example.com', 'http://app.example.com'],
    ['https://APP.Example.COM', 'https://app.example.com'],
    ['HTTPS://app.example.com', 'https://app.example.com'],
    ['https://app.example.com:8443', 'https://app.example.com:8443'],
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000'],
    ['http://[::1]:3000', 'http://[::1]:3000'],
    ['https://xn--bcher-kva.example', 'https://xn--bcher-kva.example'],
  ])('R15 %s is the origin %s', (value, origin) => {
    expect(serializedOrigin(value)).toBe(origin);
  });

  it.each([
    ['user info', 'http://evil@app.example.com'],
    ['user and password', 'https://user:pass@app.example.com'],
    ['an empty user', 'https://@app.example.com'],
    ['a trailing slash', 'https://app.example.com/'],
    ['a path', 'https://app.example.com/path'],
    ['a query', 'https://app.example.com?q=1'],
    ['a fragment', 'https://app.example.com#f'],
    ['the default https port written out', 'https://app.example.com:443'],
    ['the default http port written out', 'http://app.example.com:80'],
    ['an empty port', 'https://app.example.com:'],
    ['a port with a leading zero', 'http://app.example.com:03000'],
    ['another scheme', 'ftp://app.example.com'],
    ['an opaque scheme', 'chrome-extension://abcdef'],
    ['the opaque null', 'null'],
    ['no scheme', 'app.example.com'],
    ['a relative reference', '//app.example.com'],
    ['surrounding spaces', ' https://app.example.com '],
    ['two origins joined', 'https://app.example.com, https://evil.test'],
    ['a Unicode host', 'https://bücher.example'],
    ['a percent-encoded host', 'https://app%2Eexample.com'],
    ['an empty value', ''],
  ])('R15 %s is not an origin (%s)', (_, value) => {
    expect(serializedOrigin(value)).toBeNull();
  });
});

describe('ownOrigin', () => {
  it.each([
    ['http', 'app.example.com', 'http://app.example.com'],
    ['https', 'app.example.com', 'https://app.example.com'],
    ['https', 'App.Example.com', 'https://app.example.com'],
    ['http', '127.0.0.1:3000', 'http://127.0.0.1:3000'],
    ['http', '[::1]:3000', 'http://[::1]:3000'],
    ['https', 'app.example.com:443', 'https://app.example.com'],
    ['http', 'app.example.com:80', 'http://app.example.com'],
    ['https', 'app.example.com:80', 'https://app.example.com:80'],
  ])('R15 %s with Host %s is %s', (protocol, host, origin) => {
    expect(ownOrigin(protocol, host)).toBe(origin);
  });

  it.each([
    [undefined, 'app.example.com'],
    ['ftp', 'app.example.com'],
    ['HTTPS', 'app.example.com'],
    ['https, http', 'app.example.com'],
    ['https', undefined],
    ['https', ''],
    ['https', 'evil@app.example.com'],
    ['https', 'app.example.com/path'],
    ['https', 'app.example.com?q'],
    ['https', 'app.example.com#f'],
    ['https', 'app.example.com:'],
    ['https', 'app.example.com:0443'],
    ['https', 'app example.com'],
  ])('R15 %s with Host %s has no origin', (protocol, host) => {
    expect(ownOrigin(protocol, host)).toBeNull();
  });

  // The answers are kept per scheme and host: a host seen over one scheme answers for that one.
  it('R15 answers for the scheme asked, whichever the same host was seen over first', () => {
    const host = 'both-schemes.example.com:8443';
    expect(ownOrigin('http', host)).toBe('http://both-schemes.example.com:8443');
    expect(ownOrigin('https', host)).toBe('https://both-schemes.example.com:8443');
    expect(ownOrigin('http', host)).toBe('http://both-schemes.example.com:8443');
    expect(ownOrigin('https', 'both-schemes.example.com:443')).toBe(
      'https://both-schemes.example.com',
    );
    expect(ownOrigin('http', 'both-schemes.example.com:443')).toBe(
      'http://both-schemes.example.com:443',
    );
  });

  it('R15 gives the same answer for a value asked again, a refusal included', () => {
    for (let round = 0; round < 3; round++) {
      expect(ownOrigin('https', 'evil@app.example.com')).toBeNull();
      expect(serializedOrigin('https://evil@app.example.com')).toBeNull();
      expect(serializedOrigin('https://app.example.com/')).toBeNull();
      expect(serializedOrigin('https://app.example.com')).toBe('https://app.example.com');
    }
  });
});

describe('checkProvenance', () => {
  const host = 'app.example.com';
  const own = { host, protocol: 'https' };
  const check = (request: RequestProvenance, trusted: readonly string[] = []) =>
    checkProvenance(request, trusted);

  it.each<[string, RequestProvenance, ProvenanceProblem]>([
    ['no browser headers (API client)', { ...own }, null],
    ['Sec-Fetch-Site: none, no Origin', { ...own, secFetchSite: 'none' }, null],
    ['same-origin, no Origin', { ...own, secFetchSite: 'same-origin' }, null],
    [
      'same-origin with the own Origin',
      { ...own, secFetchSite: 'same-origin', origin: 'https://app.example.com' },
      null,
    ],
    ['the own Origin alone', { ...own, origin: 'https://app.example.com' }, null],
    [
      'the own Origin in other case',
      { origin: 'https://APP.example.com', host: 'App.Example.com', protocol: 'https' },
      null,
    ],
    [
      'the own Origin with its port',
      { origin: 'http://127.0.0.1:3000', host: '127.0.0.1:3000', protocol: 'http' },
      null,
    ],
    [
      'a Host with the default port written out',
      { origin: 'https://app.example.com', host: 'app.example.com:443', protocol: 'https' },
      null,
    ],
  ])('R15 accepted: %s', (_, request, expected) => {
    expect(check(request)).toBe(expected);
  });

  it.each<[string, RequestProvenance, ProvenanceProblem]>([
    [
      'an https Origin on an http request',
      { origin: 'https://app.example.com', host, protocol: 'http' },
      'foreign-origin',
    ],
    [
      'an http Origin on an https request',
      { origin: 'http://app.example.com', host, protocol: 'https' },
      'foreign-origin',
    ],
    [
      'another port',
      { origin: 'http://127.0.0.1:3001', host: '127.0.0.1:3000', protocol: 'http' },
      'foreign-origin',
    ],
    [
      'a port the request does not have',
      { origin: 'https://app.example.com:8443', ...own },
      'foreign-origin',
    ],
    [
      'no port where the request has one',
      { origin: 'http://127.0.0.1', host: '127.0.0.1:3000', protocol: 'http' },
      'foreign-origin',
    ],
    [
      'user info before the own host',
      { origin: 'http://evil@app.example.com', host, protocol: 'http' },
      'foreign-origin',
    ],
    ['user and password', { origin: 'https://a:b@app.example.com', ...own }, 'foreign-origin'],
    [
      'a path after the own origin',
      { origin: 'https://app.example.com/x', ...own },
      'foreign-origin',
    ],
    [
      'the default port written out',
      { origin: 'https://app.example.com:443', ...own },
      'foreign-origin',
    ],
    ['a foreign host', { origin: 'https://evil.test', ...own }, 'foreign-origin'],
    [
      'the own host as a prefix',
      { origin: 'https://app.example.com.evil.test', ...own },
      'foreign-origin',
    ],
    [
      'the own host as a suffix',
      { origin: 'https://evilapp.example.com', ...own },
      'foreign-origin',
    ],
    ['not a URL', { origin: 'not a url', ...own }, 'foreign-origin'],
    [
      'two Origins joined',
      { origin: 'https://app.example.com, https://evil.test', ...own },
      'foreign-origin',
    ],
    ['an empty Origin', { origin: '', ...own }, 'foreign-origin'],
    ['the opaque null', { origin: 'null', ...own }, 'null-origin'],
    [
      'an Origin with no scheme known',
      { origin: 'https://app.example.com', host },
      'foreign-origin',
    ],
    [
      'an Origin with no Host',
      { origin: 'https://app.example.com', protocol: 'https' },
      'foreign-origin',
    ],
    [
      'a Host with user info',
      { origin: 'https://app.example.com', host: 'x@app.example.com', protocol: 'https' },
      'foreign-origin',
    ],
    [
      'a forged scheme from a trusted proxy',
      { origin: 'https://app.example.com', host, protocol: 'javascript' },
      'foreign-origin',
    ],
    [
      'same-origin with a foreign Origin',
      { ...own, secFetchSite: 'same-origin', origin: 'https://evil.test' },
      'foreign-origin',
    ],
    [
      'cross-site',
      { ...own, secFetchSite: 'cross-site', origin: 'https://evil.test' },
      'cross-site',
    ],
    ['cross-site in other case', { ...own, secFetchSite: 'Cross-Site' }, 'cross-site'],
    [
      'cross-site even with the own Origin',
      { ...own, secFetchSite: 'cross-site', origin: 'https://app.example.com' },
      'cross-site',
    ],
    [
      'same-site from a sibling',
      { ...own, secFetchSite: 'same-site', origin: 'https://blog.example.com' },
      'same-site',
    ],
    ['same-site without an Origin', { ...own, secFetchSite: 'same-site' }, 'same-site'],
  ])('R15 refused: %s', (_, request, expected) => {
    expect(check(request)).toBe(expected);
  });

  it.each([
    ['two headers joined by Node', 'same-origin, cross-site'],
    ['the same token twice', 'same-origin, same-origin'],
    ['two tokens without a space', 'same-origin,none'],
    ['an unknown token', 'same-org'],
    ['an empty value', ''],
    ['a token with a parameter', 'same-origin;q=1'],
    ['a token inside a longer word', 'not-same-origin'],
  ])('R15 Sec-Fetch-Site that is not exactly one token counts as cross-site: %s', (_, site) => {
    expect(check({ ...own, secFetchSite: site, origin: 'https://app.example.com' })).toBe(
      'cross-site',
    );
    expect(check({ ...own, secFetchSite: site })).toBe('cross-site');
  });

  describe('trusted origins', () => {
    const partner = ['https://partner.test', 'https://blog.example.com', 'http://LOCAL.test:8080'];

    it.each<[string, RequestProvenance, ProvenanceProblem]>([
      ['a trusted Origin', { ...own, origin: 'https://partner.test' }, null],
      [
        'same-site from a trusted sibling',
        { ...own, secFetchSite: 'same-site', origin: 'https://blog.example.com' },
        null,
      ],
      [
        'cross-site from a trusted origin',
        { ...own, secFetchSite: 'cross-site', origin: 'https://partner.test' },
        null,
      ],
      [
        'duplicate Sec-Fetch-Site from a trusted origin (as cross-site)',
        { ...own, secFetchSite: 'same-origin, cross-site', origin: 'https://partner.test' },
        null,
      ],
      ['a trusted entry written in other case', { ...own, origin: 'http://local.test:8080' }, null],
      [
        'a trusted Origin on any scheme of the request',
        { host, protocol: 'http', origin: 'https://partner.test' },
        null,
      ],
      ['the own Origin beside trusted ones', { ...own, origin: 'https://app.example.com' }, null],
    ])('R15 accepted: %s', (_, request, expected) => {
      expect(check(request, partner)).toBe(expected);
    });

    it.each<[string, RequestProvenance, ProvenanceProblem]>([
      [
        'the trusted host on another scheme',
        { ...own, origin: 'http://partner.test' },
        'foreign-origin',
      ],
      [
        'the trusted host on another port',
        { ...own, origin: 'https://partner.test:8443' },
        'foreign-origin',
      ],
      [
        'user info before a trusted host',
        { ...own, origin: 'https://evil@partner.test' },
        'foreign-origin',
      ],
      [
        'a path after a trusted origin',
        { ...own, origin: 'https://partner.test/' },
        'foreign-origin',
      ],
      [
        'a trusted host as a prefix',
        { ...own, origin: 'https://partner.test.evil.test' },
        'foreign-origin',
      ],
      [
        'cross-site from the trusted host on another scheme',
        { ...own, secFetchSite: 'cross-site', origin: 'http://partner.test' },
        'cross-site',
      ],
      [
        'same-site from an untrusted sibling',
        { ...own, secFetchSite: 'same-site', origin: 'https://shop.example.com' },
        'same-site',
      ],
      ['a null Origin', { ...own, origin: 'null' }, 'null-origin'],
    ])('R15 refused: %s', (_, request, expected) => {
      expect(check(request, partner)).toBe(expected);
    });

    it('R15 a configured entry with a default port or user info is read as an origin', () => {
      expect(check({ ...own, origin: 'https://partner.test' }, ['https://partner.test:443'])).toBe(
        null,
      );
      expect(check({ ...own, origin: 'https://partner.test' }, ['https://user@partner.test'])).toBe(
        'foreign-origin',
      );
      expect(check({ ...own, origin: 'https://partner.test' }, ['partner.test'])).toBe(
        'foreign-origin',
      );
    });

    it('R15 the same options array gives the same answers on every call', () => {
      const trusted = ['https://partner.test'];
      for (let i = 0; i < 3; i++) {
        expect(check({ ...own, origin: 'https://partner.test' }, trusted)).toBeNull();
        expect(check({ ...own, origin: 'https://evil.test' }, trusted)).toBe('foreign-origin');
      }
    });
  });
});
