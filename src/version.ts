import pkg from "../package.json" with { type: "json" };

/** VERSION is the package version, compiled into the binary. */
export const VERSION: string = pkg.version;
