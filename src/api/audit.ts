import * as v from "valibot";
import { isoTime } from "../clock";
import { ApiError } from "../http/errors";
import { isId } from "../ids";
import type { AuditEntry } from "../storage/audit-types";
import { adminPlugin } from "./admin-plugin";
import type { ApiDeps } from "./deps";
import { AUDIT_ENTRY, ERRORS, ok, page, responses } from "./openapi";
import { PAGE_QUERY, pageOf, parsePage } from "./pagination";
import { parseTimestamp, queryParam } from "./schemas";

const MAX_KEY_FILTER = 128;

const AUDIT_QUERY = v.object({
  ...PAGE_QUERY,
  target_id: queryParam("only changes of this object (wh_…, dlv_…, res_…)"),
  key: queryParam('only changes made with this API key (its configured name; "sighup" for config reloads)'),
  since: queryParam("RFC 3339 time: entries at or after it", { format: "date-time" }),
});

function invalidQuery(name: string, message: string, detail: string): never {
  throw new ApiError("invalid_query", message, [{ field: `query.${name}`, code: "invalid", message: detail }]);
}

/** auditJson is the public view of an entry: as stored (already masked), with an RFC 3339 time. */
export function auditJson(e: AuditEntry) {
  return { ...e, time: isoTime(e.time) };
}

/** auditRoutes serve SPEC §14's audit log, newest first; the admin scope guards it (route-scopes.ts). */
export function auditRoutes(deps: ApiDeps) {
  const targetOf = (id: string | undefined) => {
    if (id === undefined || id === "") return undefined;
    if (!(["wh", "dlv", "res"] as const).some((prefix) => isId(id, prefix))) {
      invalidQuery("target_id", "target_id is not an object id", `${JSON.stringify(id)} is not a wh_…, dlv_… or res_… id`);
    }
    return id;
  };
  const keyOf = (key: string | undefined) => {
    if (key === undefined || key === "") return undefined;
    if (key.length > MAX_KEY_FILTER) invalidQuery("key", "key is not a key name", `must be at most ${MAX_KEY_FILTER} characters`);
    return key;
  };

  return adminPlugin("audit").get(
    "/v1/audit",
    ({ query }) => {
      const filter = {
        target_id: targetOf(query.target_id),
        key: keyOf(query.key),
        since: query.since === undefined || query.since === "" ? undefined : parseTimestamp(query.since, "query.since"),
      };
      return pageOf(parsePage(query, "aud"), (p) => deps.storage.audit.list({ ...p, ...filter }), auditJson);
    },
    {
      query: AUDIT_QUERY,
      detail: {
        summary: "The audit log: every change made through the admin API and each config reload, newest first",
        description: "Secrets and sensitive header values read \"********\". Needs a key with the admin scope.",
        tags: ["audit"],
        responses: responses(ok(200, "a page of audit entries", page(AUDIT_ENTRY)), ...ERRORS.admin, ...ERRORS.list),
      },
    },
  );
}
