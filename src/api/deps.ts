import type { Clock } from "../clock";
import type { EventCatalogue } from "../events/types";
import type { Logger } from "../log";
import type { TargetPolicy } from "../security/targets";
import type { Storage } from "../storage/types";
import type { DeliveryProfiles } from "../config/types";

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
}
