import * as v from "valibot";
import { parseRateLimit } from "./duration";
import { checkedText, choice, cidrList, converted, list, oneOf, required, table, text, type Report, type Rule, type TableOf } from "./fields";
import { AUTH_MODES, BODY_SCHEMAS, type AuthMode, type Env, type Source } from "./types";
import { envNameProblem, eventTypeProblem, headerNameProblem, sourceIdProblem, whsecProblem } from "./values";

/** DEFAULT_HEADERS is the header each auth mode reads its signature or token from when `header` is unset. */
export const DEFAULT_HEADERS: Readonly<Record<AuthMode, string>> = {
  hmac: "X-Hookd-Signature",
  token: "x-auth-token",
  "standard-webhooks": "",
  none: "",
};

const entries = {
  id: required(sourceIdProblem),
  auth: oneOf(AUTH_MODES),
  secret: text(""),
  secret_env: checkedText("", envNameProblem),
  header: checkedText("", (h) => (h === "" ? null : headerNameProblem(h))),
  connector_header: checkedText("X-Hookd-Connector-Id", headerNameProblem),
  connector_id: text(""),
  allow_ips: cidrList(),
  schema: choice(BODY_SCHEMAS, "erp-event"),
  event_type: checkedText("", (t) => (t === "" ? null : eventTypeProblem(t))),
  event_type_field: text(""),
  rate_limit: v.optional(converted('a rate limit like "50000/1d"', parseRateLimit), ""),
  dedupe_header: checkedText("", (h) => (h === "" ? null : headerNameProblem(h))),
  allow_origins: list(required(originProblem), []),
};

/** originProblem accepts a browser origin as the Origin header spells it: scheme, host and port only, e.g. "https://erp.example". */
export function originProblem(value: string): string | null {
  const url = URL.parse(value);
  if (url === null || (url.protocol !== "https:" && url.protocol !== "http:")) {
    return `${JSON.stringify(value)} is not an origin like "https://erp.example" (http or https, no path)`;
  }
  // Browsers send the serialized origin (lowercase host, no default port, no slash), compared as is.
  if (url.origin !== value) return `${JSON.stringify(value)} is not written as an origin; use ${JSON.stringify(url.origin)}`;
  return null;
}

type Raw = TableOf<typeof entries>;

/** secretRule resolves where the secret comes from and checks it is there, and well-formed for its auth mode. */
function secretRule(env: Env): Rule<Raw> {
  return {
    needs: ["auth", "secret", "secret_env"],
    check({ auth, secret, secret_env }, report: Report) {
      if (secret !== "" && secret_env !== "") return report("secret", "set either secret or secret_env, not both");
      if (auth === "none") {
        if (secret !== "" || secret_env !== "") report(secret !== "" ? "secret" : "secret_env", 'not used with auth = "none"');
        return;
      }
      if (secret === "" && secret_env === "") {
        return report("secret", `required for auth = ${JSON.stringify(auth)} (set secret or secret_env)`);
      }
      const value = secret !== "" ? secret : env[secret_env];
      if (value === undefined || value === "") {
        return report("secret_env", `environment variable ${secret_env} is not set or empty`);
      }
      const problem = auth === "standard-webhooks" ? whsecProblem(value) : null;
      if (problem !== null) report(secret !== "" ? "secret" : "secret_env", secret !== "" ? problem : `$${secret_env} ${problem}`);
    },
  };
}

const rules: readonly Rule<Raw>[] = [
  {
    needs: ["auth", "allow_ips"],
    check({ auth, allow_ips }, report) {
      if (auth === "none" && allow_ips.size === 0) report("auth", '"none" requires allow_ips');
    },
  },
  {
    needs: ["auth", "allow_origins"],
    check({ auth, allow_origins }, report) {
      // Only an unauthenticated source needs the browser check; elsewhere the key would suggest a protection that is not there.
      if (auth !== "none" && allow_origins.length > 0) report("allow_origins", `only used with auth = "none" (this source has auth = ${JSON.stringify(auth)})`);
    },
  },
  {
    needs: ["auth", "header"],
    check({ auth, header }, report) {
      if (header !== "" && DEFAULT_HEADERS[auth] === "") report("header", `not used with auth = ${JSON.stringify(auth)}`);
    },
  },
  {
    needs: ["auth", "header", "dedupe_header"],
    check({ auth, header, dedupe_header }, report) {
      // The dedupe key is stored as sent: a credential header there would put the secret in the database.
      const credentials = [header !== "" ? header : DEFAULT_HEADERS[auth], "authorization", "webhook-signature", "svix-signature"];
      if (dedupe_header !== "" && credentials.some((c) => c !== "" && c.toLowerCase() === dedupe_header.toLowerCase())) {
        report("dedupe_header", `${JSON.stringify(dedupe_header)} carries a credential (signature, token or Authorization); name the sender's delivery id header, e.g. "X-GitHub-Delivery"`);
      }
    },
  },
  {
    needs: ["schema", "event_type", "event_type_field"],
    check({ schema, event_type, event_type_field }, report) {
      if (schema === "erp-event") {
        // erp-event bodies carry their own event_type; a fixed one here would be silently ignored.
        if (event_type !== "") report("event_type", 'only used with schema = "json"');
        if (event_type_field !== "") report("event_type_field", 'only used with schema = "json"');
      } else if (event_type !== "" && event_type_field !== "") {
        report("event_type", 'schema = "json" takes event_type or event_type_field, not both');
      } else if (event_type === "" && event_type_field === "") {
        report("event_type", 'required for schema = "json" (set event_type, or event_type_field to read it from the body)');
      }
    },
  },
];

function build(raw: Raw, env: Env): Source {
  return {
    id: raw.id,
    auth: raw.auth,
    secret: raw.auth === "none" ? "" : raw.secret !== "" ? raw.secret : (env[raw.secret_env] ?? ""),
    secret_env: raw.auth === "none" || raw.secret !== "" ? "" : raw.secret_env,
    header: raw.header !== "" ? raw.header : DEFAULT_HEADERS[raw.auth],
    connector_header: raw.connector_header,
    connector_id: raw.connector_id !== "" ? raw.connector_id : raw.id,
    allow_ips: raw.allow_ips,
    schema: raw.schema,
    event_type: raw.event_type,
    event_type_field: raw.event_type_field,
    rate_limit: raw.rate_limit,
    dedupe_header: raw.dedupe_header,
    allow_origins: raw.allow_origins,
  };
}

/** sourceSchema validates one `[[sources]]` table and resolves its secret from `env`. */
export function sourceSchema(env: Env) {
  return table(entries, [secretRule(env), ...rules], (raw) => build(raw, env));
}
