import { faultProofs } from './helpers/fault-proofs.js';

// Every judged case fails through the fault that breaks its rule (one third of the faults; see the helper).
faultProofs(1, 3);
