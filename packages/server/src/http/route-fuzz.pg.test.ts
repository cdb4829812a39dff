import { setDefaultTestDatabase } from '../test/harness.js';

// The route fuzz again on PostgreSQL, where text that SQLite stores (U+0000) once failed with 500.
// Imported after the switch, hence the dynamic import.
setDefaultTestDatabase('postgres');
await import('./route-fuzz.test.js');
