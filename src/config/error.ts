/** ConfigIssue is one problem found in a config: the TOML key path and what is wrong there. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** ConfigError carries every problem found in a config, so one run of `check-config` shows them all. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map(line).join("\n"));
    this.name = "ConfigError";
    this.issues = issues;
  }

  /** format gives one `config error: path: message` line per issue. */
  format(): string {
    return this.issues.map(line).join("\n");
  }
}

function line(issue: ConfigIssue): string {
  return `config error: ${issue.path}: ${issue.message}`;
}
