import { RememberMeTokenEntity } from './remember-me-token.entity';
import { SessionServerKeyEntity } from './server-key.entity';
import { SESSION_CHANGED_TRIGGERS, SESSION_ENDED_TRIGGERS } from './session-change-signal';
import { SessionEntity } from './session.entity';
import { FoundTable, missingSchema, requiredTable } from './storage-schema';

describe('requiredTable', () => {
  it('reads the table and its column names from the entity', () => {
    expect(requiredTable(SessionServerKeyEntity)).toEqual({
      name: 'session_server_key',
      columns: ['id', 'key', 'created_at'],
      triggers: [],
    });
    const session = requiredTable(SessionEntity);
    expect(session.name).toBe('session');
    expect(session.columns).toEqual(
      expect.arrayContaining(['id_hash', 'presented_at', 'obsoleted_by', 'remember_me_handle']),
    );
    expect(requiredTable(RememberMeTokenEntity).name).toBe('remember_me_token');
  });

  it('requires the triggers that signal ended and changed sessions on the session table only', () => {
    expect(requiredTable(SessionEntity).triggers).toEqual([
      ...SESSION_ENDED_TRIGGERS,
      ...SESSION_CHANGED_TRIGGERS,
    ]);
    expect(requiredTable(RememberMeTokenEntity).triggers).toEqual([]);
  });
});

describe('missingSchema', () => {
  const required = [
    {
      name: 'session',
      columns: ['id_hash', 'presented_at', 'obsoleted_by'],
      triggers: ['ended_on_update', 'ended_on_delete'],
    },
    { name: 'session_server_key', columns: ['id', 'key'], triggers: [] },
  ];
  const table = (columns: string[], triggers: string[] = []): FoundTable => ({
    columns: new Set(columns),
    triggers: new Set(triggers),
  });

  it('is empty when every table has every column and trigger (extra ones are fine)', () => {
    const found = new Map([
      [
        'session',
        table(
          ['id_hash', 'presented_at', 'obsoleted_by', 'mine'],
          ['ended_on_update', 'ended_on_delete', 'audit'],
        ),
      ],
      ['session_server_key', table(['id', 'key'])],
    ]);
    expect(missingSchema(required, found)).toEqual([]);
  });

  it('names absent tables, the columns a later migration adds, and the triggers', () => {
    const found = new Map([['session', table(['id_hash'])]]);
    expect(missingSchema(required, found)).toEqual([
      'table "session" has no columns "presented_at", "obsoleted_by"',
      'table "session" has no triggers "ended_on_update", "ended_on_delete"',
      'table "session_server_key" does not exist',
    ]);
  });

  it('names a single missing trigger', () => {
    const found = new Map([
      ['session', table(['id_hash', 'presented_at', 'obsoleted_by'], ['ended_on_update'])],
      ['session_server_key', table(['id', 'key'])],
    ]);
    expect(missingSchema(required, found)).toEqual([
      'table "session" has no trigger "ended_on_delete"',
    ]);
  });
});
