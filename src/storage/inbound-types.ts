// The inbound log and the durable accept path.
import type { EventRecord, PageQuery } from "./types";

/** InboundStatus: accepted (stored with its event), duplicate (a repeat, answered with the original), rejected. */
export type InboundStatus = "accepted" | "duplicate" | "rejected";

/** InboundRecord is one received request as logged. */
export interface InboundRecord {
  id: string;
  source: string;
  status: InboundStatus;
  reason: string | null;
  event_id: string | null;
  client_ip: string;
  headers: Record<string, string>;
  body: string | null;
  /** body_sha256: hex SHA-256 of the body as received (also for rejections, whose body is not kept). */
  body_sha256: string | null;
  size: number;
  received_at: number;
}

/** AcceptRequest is everything one inbound request commits, plus the rules checked in the same transaction. */
export interface AcceptRequest {
  record: InboundRecord;
  event: EventRecord;
  dedupeKey: string | null;
  bodyHash: string;
  dedupeWindowMs: number;
  rateLimit: { count: number; windowMs: number } | null;
  now: number;
}

/** AcceptOutcome: stored; a repeat of an earlier request; a reused key with another body; over the rate limit. */
export type AcceptOutcome =
  | { kind: "accepted"; eventId: string; deliveries: number }
  | { kind: "duplicate"; eventId: string }
  | { kind: "reused" }
  | { kind: "rate_limited"; retryAfterSec: number };

/** InboundQuery filters the inbound log. */
export interface InboundQuery extends PageQuery {
  source?: string;
  status?: InboundStatus;
}

/** InboundStore is the inbound log and the durable accept path. */
export interface InboundStore {
  /** accept runs dedupe, the rate limit and the insert (record, event, deliveries) as one durable operation. */
  accept(request: AcceptRequest): Promise<AcceptOutcome>;
  /** logRejected stores a rejection (no body); best effort. */
  logRejected(record: InboundRecord): Promise<void>;
  get(id: string): Promise<InboundRecord | null>;
  list(query: InboundQuery): Promise<InboundRecord[]>;
}

