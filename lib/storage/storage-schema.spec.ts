import { RememberMeTokenEntity } from './remember-me-token.entity';
import { SessionServerKeyEntity } from './server-key.entity';
import { SessionEntity } from './session.entity';
import { missingSchema, requiredTable } from './storage-schema';

describe('requiredTable', () => {
  it('reads the table and its column names from the entity', () => {
    expect(requiredTable(SessionServerKeyEntity)).toEqual({
      name: 'session_server_key',
      columns: ['id', 'key', 'created_at'],
    });
    const session = requiredTable(SessionEntity);
    expect(session.name).toBe('session');
    expect(session.columns).toEqual(
      expect.arrayContaining(['id_hash', 'presented_at', 'obsoleted_by', 'remember_me_handle']),
    );
    expect(requiredTable(RememberMeTokenEntity).name).toBe('remember_me_token');
  });
});

describe('missingSchema', () => {
  const required = [
    { name: 'session', columns: ['id_hash', 'presented_at', 'obsoleted_by'] },
    { name: 'session_server_key', columns: ['id', 'key'] },
  ];

  it('is empty when every table has every column (extra columns are fine)', () => {
    const found = new Map([
      ['session', new Set(['id_hash', 'presented_at', 'obsoleted_by', 'mine'])],
      ['session_server_key', new Set(['id', 'key'])],
    ]);
    expect(missingSchema(required, found)).toEqual([]);
  });

  it('names absent tables and the columns a later migration adds', () => {
    const found = new Map([['session', new Set(['id_hash'])]]);
    expect(missingSchema(required, found)).toEqual([
      'table "session" has no columns "presented_at", "obsoleted_by"',
      'table "session_server_key" does not exist',
    ]);
  });
});
