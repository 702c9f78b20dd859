import { describe, expect, it } from "bun:test";
import { deliveryJson } from "../../src/api/deliveries";
import { LANE_WAITING, type DeliveryRecord } from "../../src/storage/delivery-types";

const T = Date.parse("2026-03-01T10:00:00Z");
const base: DeliveryRecord = {
  id: "dlv_1", event_id: "evt_1", webhook_id: "wh_1", event_type: "doc.changed", status: "pending", attempts: 0,
  next_attempt_at: T, leased: false, last_status_code: null, last_response: null, last_error: null,
  created_at: T, updated_at: T, delivered_at: null, lane: null, sequence: null,
};

describe("deliveryJson", () => {
  it("shows an unordered delivery with sequence null", () => {
    expect(deliveryJson(base)).toMatchObject({ next_attempt_at: "2026-03-01T10:00:00.000Z", sequence: null });
  });

  it("shows a FIFO delivery waiting behind its lane's head with next_attempt_at null and its position", () => {
    expect(deliveryJson({ ...base, lane: "", sequence: 7, next_attempt_at: LANE_WAITING })).toMatchObject({ next_attempt_at: null, sequence: 7, status: "pending" });
  });

  it("shows a lane's head with its due time", () => {
    expect(deliveryJson({ ...base, lane: '"A-1"', sequence: 1 })).toMatchObject({ next_attempt_at: "2026-03-01T10:00:00.000Z", sequence: 1 });
  });
});
