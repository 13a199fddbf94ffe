export function serverUrl(): string;
export function testDatabaseUrl(): string;
