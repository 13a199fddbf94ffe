import { getMetadataArgsStorage } from 'typeorm';

/** A table of the storage contract and the columns the package's statements read or write. */
export interface RequiredTable {
  name: string;
  columns: string[];
}

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
  return { name: table.name, columns };
}

/**
 * What the database lacks of `required`, one line per table: a table that is absent, or the
 * columns an older migration did not create. `found` holds the columns of every table that
 * exists. Empty when nothing is missing.
 */
export function missingSchema(
  required: RequiredTable[],
  found: ReadonlyMap<string, ReadonlySet<string>>,
): string[] {
  return required.flatMap(({ name, columns }) => {
    const present = found.get(name);
    if (!present) return [`table "${name}" does not exist`];
    const absent = columns.filter((column) => !present.has(column));
    if (absent.length === 0) return [];
    const list = absent.map((column) => `"${column}"`).join(', ');
    return [`table "${name}" has no column${absent.length > 1 ? 's' : ''} ${list}`];
  });
}
