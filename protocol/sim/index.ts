export { Simulator } from './simulator.js';
export { EventQueue, type Scheduled } from './event-queue.js';
export { Network, type LinkOverride, type NetworkConfig, type DropCause, type RegionLatencies } from './network.js';
export {
  SimRunawayError,
  type AddNodeOptions,
  type DropCounts,
  type JoinAllOptions,
  type NodeFactory,
  type RestartOptions,
  type SimBarrierRecord,
  type SimEventRecord,
  type SimStats,
  type SimulatorOptions,
} from './types.js';
