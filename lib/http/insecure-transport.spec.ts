import { dropsSecureCookies, insecureTransportWarning, transportOf } from './insecure-transport';

const http = (host: string, forwardedProto?: string) => ({
  protocol: 'http',
  host,
  forwardedProto,
});

describe('dropsSecureCookies', () => {
  it.each(['app.example.com', 'app.example.com:8080', '192.168.1.20:3000', '[2001:db8::1]:80'])(
    'issue 13 §2: plain http to %s drops Secure cookies',
    (host) => {
      expect(dropsSecureCookies(http(host))).toBe(true);
    },
  );

  it.each([
    'localhost',
    'localhost:3000',
    'LOCALHOST',
    'app.localhost:3000',
    '127.0.0.1:3000',
    '127.1.2.3',
    '[::1]:3000',
  ])('issue 13 §2: plain http to the loopback host %s keeps them', (host) => {
    expect(dropsSecureCookies(http(host))).toBe(false);
  });

  it('https keeps them, and an unknown protocol or host is not judged', () => {
    expect(dropsSecureCookies({ ...http('app.example.com'), protocol: 'https' })).toBe(false);
    expect(dropsSecureCookies({ ...http('app.example.com'), protocol: undefined })).toBe(false);
    expect(dropsSecureCookies({ ...http(''), host: undefined })).toBe(false);
  });
});

describe('transportOf', () => {
  const request = {
    protocol: 'http',
    headers: { host: 'app.example.com', 'x-forwarded-proto': 'https' },
  };

  it('reads the Express request behind a response, and the Fastify one behind a reply', () => {
    const expected = { protocol: 'http', host: 'app.example.com', forwardedProto: 'https' };
    expect(transportOf({ req: request })).toEqual(expected);
    expect(transportOf({ request })).toEqual(expected);
  });

  it('gives nothing without a request (another kind of context)', () => {
    expect(transportOf({})).toBeUndefined();
    expect(transportOf(null)).toBeUndefined();
  });
});

describe('insecureTransportWarning', () => {
  it('names the cookie, the host and the three fixes', () => {
    const warning = insecureTransportWarning(http('app.example.com'), '__Host-sid');
    expect(warning).toContain('"__Host-sid"');
    expect(warning).toContain('"app.example.com"');
    expect(warning).toContain('403 csrf_token_invalid');
    expect(warning).toContain('HTTPS');
    expect(warning).toContain('trust proxy');
    expect(warning).toContain('cookie: { secure: false }');
    expect(warning).not.toContain('X-Forwarded-Proto), but');
  });

  it('says so when an untrusted proxy reported https', () => {
    const warning = insecureTransportWarning(http('app.example.com', 'https'), '__Host-sid');
    expect(warning).toContain('proxy that says https (X-Forwarded-Proto)');
  });
});
