// tsc writes dist/src/cli.js without the executable bit, and npm sets it only when it links the package's
// bin, which on a fresh clone happens before the build: without this, `npx owntracks-hub` is refused.
import { chmodSync } from 'node:fs'

chmodSync(new URL('../dist/src/cli.js', import.meta.url), 0o755)
