import { getMetadataArgsStorage } from 'typeorm';
import { SESSION_CHANGED_TRIGGERS, SESSION_ENDED_TRIGGERS } from './session-change-signal';

/**
 * A table of the storage contract: the columns the package's statements read or write, and the
 * triggers its migrations create on it.
 */
export interface RequiredTable {
  name: string;
  columns: string[];
  triggers: string[];
}

/** What the database has of one table: its column names and trigger names. */
export interface FoundTable {
  columns: ReadonlySet<string>;
  triggers: ReadonlySet<string>;
}

/** The triggers the migrations create, by table: TypeORM's entities cannot describe triggers. */
const REQUIRED_TRIGGERS: Readonly<Record<string, readonly string[]>> = {
  session: [...SESSION_ENDED_TRIGGERS, ...SESSION_CHANGED_TRIGGERS],
};

/**
 * The table an entity of the package describes, read from its TypeORM decorators: the entities
 * are the one description of the tables (a test checks that the migrations create exactly them),
 * so a column added by a later migration is required here as soon as the entity has it.
 */
export function requiredTable(entity: abstract new () => unknown): RequiredTable {
  const storage = getMetadataArgsStorage();
  const table = storage.tables.find((candidate) => candidate.target === entity);
  if (!table?.name) throw new Error(`${entity.name} is not a named TypeORM entity`);
  const columns = storage.columns
    .filter((column) => column.target === entity)
    .map((column) => column.options.name ?? column.propertyName);
  return { name: table.name, columns, triggers: [...(REQUIRED_TRIGGERS[table.name] ?? [])] };
}

/** `"a", "b"` after `noun` or its plural. */
function named(noun: string, names: string[]): string {
  const list = names.map((name) => `"${name}"`).join(', ');
  return `${noun}${names.length > 1 ? 's' : ''} ${list}`;
}

/**
 * What the database lacks of `required`, one line per table and kind: a table that is absent,
 * the columns an older migration did not create, the triggers a later migration adds. `found`
 * holds every table that exists. Empty when nothing is missing.
 */
export function missingSchema(
  required: RequiredTable[],
  found: ReadonlyMap<string, FoundTable>,
): string[] {
  return required.flatMap(({ name, columns, triggers }) => {
    const present = found.get(name);
    if (!present) return [`table "${name}" does not exist`];
    const absentColumns = columns.filter((column) => !present.columns.has(column));
    const absentTriggers = triggers.filter((trigger) => !present.triggers.has(trigger));
    return [
      ...(absentColumns.length > 0
        ? [`table "${name}" has no ${named('column', absentColumns)}`]
        : []),
      ...(absentTriggers.length > 0
        ? [`table "${name}" has no ${named('trigger', absentTriggers)}`]
        : []),
    ];
  });
}
