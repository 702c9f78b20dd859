import type { Clock } from "../clock";
import type { EventCatalogue } from "../events/types";
import type { Logger } from "../log";
import type { TargetPolicy } from "../security/targets";
import type { Storage } from "../storage/types";
import type { DeliveryProfiles } from "../config/types";
import type { Prefilter } from "../routing/prefilter";
import type { TransformRunner } from "../transform";

/** ApiDeps is what the admin routes may use: storage through its interface, never the database. */
export interface ApiDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly log: Logger;
  readonly catalogue: EventCatalogue;
  readonly targets: TargetPolicy;
  readonly maxEndpoints: number;
  /** deliveryProfiles gives the configured client_tls/oauth2 profiles as of now (they may be reloaded). */
  readonly deliveryProfiles: () => DeliveryProfiles;
  /** prefilter evaluates endpoint filters on an event before it is stored (SPEC §10). */
  readonly prefilter: Prefilter;
  /** transforms runs JSONata transforms off the event loop (the preview uses the senders' pool). */
  readonly transforms: TransformRunner;
  /** maxBody is [server] max_body: the largest body a transform may produce. */
  readonly maxBody: number;
}
