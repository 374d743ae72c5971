import { cancel } from './cancel.js';
import { create } from './create.js';
import { customerAction } from './customer-action.js';
import { dashboardRefund } from './dashboard-refund.js';
import { list } from './list.js';
import { partialCancel } from './partial-cancel.js';
import { read } from './read.js';
import { redirectPayment } from './redirect.js';
import { refund } from './refund.js';
import { returns } from './returns.js';
import { ship } from './ship.js';
import type { TrafficKind } from './shop.js';

/** The mix: a new kind of traffic is one file and one line here. */
export const TRAFFIC: readonly TrafficKind[] = [
  create,
  read,
  list,
  cancel,
  partialCancel,
  ship,
  refund,
  returns,
  dashboardRefund,
  customerAction,
  redirectPayment,
];
