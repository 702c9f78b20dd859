/**
 * publish is the benches' API publisher: `POST /v1/events` with the send time in the event's data
 * (`bench_t`, wall-clock ms), which the counting receiver subtracts from each delivery's arrival.
 * Shared by bench/delivery.ts and bench/endpoints.ts so both time deliveries the same way.
 */
import { wallNow, type Hookd } from "./support.ts";

const PAD = "x".repeat(200); // a realistic small event, the same in every bench

/** EventPublisher publishes one event per call on a keep-alive session of its own. */
export interface EventPublisher {
  /** publish sends an event of `type` and returns how many deliveries hookd made of it; throws unless 202. */
  publish(type: string, seq: number): Promise<number>;
  close(): void;
}

/** eventPublisher publishes to `hookd` with its API key. */
export function eventPublisher(hookd: Hookd): EventPublisher {
  const session = new Bun.FetchSession({ proxy: false });
  const headers = { authorization: `Bearer ${hookd.key}`, "content-type": "application/json" };
  return {
    async publish(type, seq) {
      const body = `{"type":"${type}","data":{"seq":${seq},"bench_t":${wallNow()},"pad":"${PAD}"}}`;
      const response = await session.fetch(`${hookd.url}/v1/events`, { method: "POST", proxy: false, headers, body, signal: AbortSignal.timeout(10_000) });
      const text = await response.text();
      if (response.status !== 202) throw new Error(`publish answered ${response.status}: ${text.slice(0, 200)}`);
      return (JSON.parse(text) as { data: { deliveries: number } }).data.deliveries;
    },
    close: () => session.close(),
  };
}
