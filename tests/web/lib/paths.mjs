import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (tests/web/lib → ../../..). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const ARTIFACTS = join(REPO, "target/e2e-artifacts");
