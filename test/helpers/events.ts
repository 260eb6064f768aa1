import type { EventEnvelope } from '../../src/ports/event-store.js';

/** One stored event of tenant "acme", as alert sinks receive it. */
export const ORDER_PLACED: EventEnvelope = {
  version: '0',
  id: 'evt-0001',
  'detail-type': 'OrderPlaced',
  source: 'shop.orders',
  account: 'acme',
  time: '2025-01-02T03:04:05Z',
  region: 'local',
  resources: [],
  detail: { order_id: 'o-42', total: 99.5 },
};
