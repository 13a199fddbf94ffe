/** Ceiling: Nest on Express with no session and no database. */
import { serveCeiling } from './ceiling-app';

void serveCeiling([]);
