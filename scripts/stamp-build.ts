// Part of `npm run build`: records in lib/dist the hash of the lib/src it was built from, so that the search
// store (lib/src/search-store.ts) can tell a notebook running a stale build from one running the current source.
import * as path from "node:path";
import { BUILD_STAMP, sourceHash } from "../lib/src/search-store";
import { writeFileAtomic } from "../lib/src/io";

const lib = path.resolve(__dirname, "..", "lib");
writeFileAtomic(path.join(lib, "dist", BUILD_STAMP), sourceHash(path.join(lib, "src")) + "\n");
