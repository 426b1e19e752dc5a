export { createExistenceChecker } from './checker.js';
export { loadInventory, parseInventory, inventoryKey, Inventory, inventoryOf } from './inventory.js';
export { classifyStatus } from './head.js';
export type * from './types.js';
