import { MIN_MASKED_LENGTH, sensitiveValues } from "../delivery/headers";
import { contextOf } from "../http/context";
import { newId } from "../ids";
import type { AuditChange, AuditEntry } from "../storage/audit-types";
import type { ResourceRecord, WebhookRecord } from "../storage/types";
import { MASK, maskHeaders, optionsJson } from "./webhook-options";

// SPEC §14 audit entries, built from the request and the before/after views of what it changed. Pure
// apart from auditRequestOf (which reads the request's context): a route hands in records and writes
// the entry in the transaction of its change. Masking happens here, so storage never sees a secret.

/** AuditRequest is what an entry takes from the request: who, from where, which request. */
export interface AuditRequest {
  readonly key: string;
  readonly client_ip: string;
  readonly request_id: string;
  readonly method: string;
  readonly path: string;
}

/** Changes is an entry's `changes`: per field, its value before and after (masked). */
export type Changes = Record<string, AuditChange>;

/** View is an object's fields as the audit compares them (unmasked; Masking says how each is shown). */
export type View = Readonly<Record<string, unknown>>;

/** Masking: `fields` render a value for the entry (compared unmasked, shown masked); no string holding one of `secrets` is shown. */
export interface Masking {
  readonly fields?: Readonly<Record<string, (value: unknown) => unknown>>;
  readonly secrets?: readonly string[];
}

/** auditRequestOf reads the request's key name, client IP, request id (the X-Request-Id answered), method and path without query. */
export function auditRequestOf(request: Request): AuditRequest {
  const context = contextOf(request);
  return {
    key: context.apiKey ?? "",
    client_ip: context.clientIp,
    request_id: context.requestId,
    method: request.method,
    path: new URL(request.url).pathname,
  };
}

/** auditEntry assembles an entry; `id` defaults to a new time-ordered `aud_…`. */
export function auditEntry(request: AuditRequest, time: number, targetId: string | null, changes: Changes, id: string = newId("aud")): AuditEntry {
  return {
    id,
    time,
    key: request.key,
    client_ip: request.client_ip,
    request_id: request.request_id,
    method: request.method,
    path: request.path,
    target_id: targetId,
    changes,
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** scrub replaces every string that holds one of `secrets` with MASK, at any depth (object keys are names, kept). */
export function scrub(value: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0 || value === null) return value;
  if (typeof value === "string") return secrets.some((s) => value.includes(s)) ? MASK : value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, secrets));
  if (typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, secrets)]));
  return value;
}

/**
 * changesOf compares two views field by field: `before` null is a create (each set field, before null),
 * `after` null a delete (each set field, after null), else only the fields whose values differ. A field
 * unset (null) on both sides is left out. Values are compared as stored and shown through `masking`.
 */
export function changesOf(before: View | null, after: View | null, masking: Masking = {}): Changes {
  const secrets = (masking.secrets ?? []).filter((s) => s.length >= MIN_MASKED_LENGTH);
  const show = (name: string, value: unknown) => scrub(value === null ? null : (masking.fields?.[name] ?? ((v: unknown) => v))(value), secrets);
  const out: Changes = {};
  for (const name of new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])) {
    const was = before?.[name] ?? null;
    const is = after?.[name] ?? null;
    if (same(was, is)) continue;
    out[name] = { before: show(name, was), after: show(name, is) };
  }
  return out;
}

/** pickFields keeps the changes of the named fields only. */
export function pickFields(changes: Changes, names: readonly string[]): Changes {
  const out: Changes = {};
  for (const name of names) if (changes[name] !== undefined) out[name] = changes[name];
  return out;
}

/** asked lists what a request asked for, each as {before: null, after: value}; undefined values are left out. */
export function asked(fields: Readonly<Record<string, unknown>>): Changes {
  const out: Changes = {};
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) out[name] = { before: null, after: value };
  return out;
}

/** webhookView is an endpoint's changeable fields: the read view's, with headers and secret unmasked for comparing. */
function webhookView(w: WebhookRecord): View {
  return { url: w.url, events: w.events, description: w.description, status: w.status, ...optionsJson(w), headers: w.headers, secret: w.secret };
}

const WEBHOOK_FIELDS = {
  headers: (value: unknown) => maskHeaders(value as Record<string, string>),
  secret: () => MASK,
};

/** webhookChanges is an endpoint's create (before null), PATCH or delete (after null): secret and sensitive header values read "********". */
export function webhookChanges(before: WebhookRecord | null, after: WebhookRecord | null): Changes {
  const secrets = [before, after].flatMap((w) => (w === null ? [] : [w.secret, ...sensitiveValues(w.headers ?? {})]));
  return changesOf(before && webhookView(before), after && webhookView(after), { fields: WEBHOOK_FIELDS, secrets });
}

/** ROTATED_SECRET is a rotate-secret's changes: that the secret changed, never either value. */
export const ROTATED_SECRET: Changes = Object.freeze({ secret: Object.freeze({ before: MASK, after: MASK }) });

/** resourceChanges is a resource's create (before null), update or delete (after null). */
export function resourceChanges(before: ResourceRecord | null, after: ResourceRecord | null): Changes {
  const view = (r: ResourceRecord | null): View | null => r && { type: r.type, status: r.status, name: r.name, metadata: r.metadata };
  return changesOf(view(before), view(after));
}
