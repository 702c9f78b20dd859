import type { DeliveryRecord } from "./delivery-types";

/** DeliveryRow is a deliveries row as both backends read it: `lease_until` instead of `leased`. */
export interface DeliveryRow extends Omit<DeliveryRecord, "leased"> {
  lease_until: number | null;
}

const NAMES = [
  "id", "event_id", "webhook_id", "event_type", "status", "attempts", "next_attempt_at", "lease_until",
  "last_status_code", "last_response", "last_error", "created_at", "updated_at", "delivered_at", "lane", "sequence",
] as const;

/** deliveryColumns lists the columns a DeliveryRow is read from, each prefixed with `alias.` when given. */
export function deliveryColumns(alias?: string): string {
  return NAMES.map((name) => (alias ? `${alias}.${name}` : name)).join(", ");
}

/** deliveryFromRow turns a row into the record the API shows. */
export function deliveryFromRow(row: DeliveryRow): DeliveryRecord {
  const { lease_until, ...rest } = row;
  return { ...rest, leased: lease_until !== null };
}
