/** LogLevel orders log lines by importance; lines below the configured level are dropped. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

type Fields = Record<string, unknown>;

/** Logger writes one JSON object per line (journald-friendly); child() adds fields such as request_id. */
export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
  setLevel(level: LogLevel): void;
}

/** createLogger writes to `write` (stdout by default); callers pass ids, never secrets. */
export function createLogger(
  level: LogLevel = "info",
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const state = { rank: RANK[level] };
  const make = (base: Fields): Logger => {
    const emit = (lvl: LogLevel, msg: string, fields?: Fields) => {
      if (RANK[lvl] < state.rank) return;
      const line = { time: new Date().toISOString(), level: lvl, msg, ...base, ...fields };
      write(`${JSON.stringify(line, errorReplacer)}\n`);
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (fields) => make({ ...base, ...fields }),
      setLevel: (l) => {
        state.rank = RANK[l];
      },
    };
  };
  return make({});
}

// Error objects serialise to {} by default; keep their message so failures are explained.
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** silentLogger drops everything; for tests that assert on behaviour, not on logs. */
export const silentLogger: Logger = createLogger("error", () => {});
