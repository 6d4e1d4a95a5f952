/** INFO's stored form (src/view/stored-info.ts, shared with the read view's reader). */
export { loadInfo, storeInfo } from "../../view/stored-info.ts";
export type { EventInfo, EventPath, EventStorage, StoredEventInfo } from "../../view/stored-info.ts";
