/**
 * Public entry point of the `fmnist` library: everything the notebooks, scripts and
 * tests use is exported from here, one module per concern.
 */
export * from "./config";
export * from "./random";
export * from "./data/index";
export * from "./backend/index";
export * from "./models";
export * from "./stats";
export { writeFileAtomic } from "./io";
export * from "./layers";
export * from "./dispose-model";
export * from "./train";
export * from "./schedules";
export * from "./progress";
export * from "./evaluate";
export * from "./train-and-evaluate";
export type { TrainHistory } from "./history";
export * from "./persist";
export * from "./study-data";
export * from "./tuning";
export * from "./cost";
export * from "./augment";
export * from "./metrics";
export * from "./classical";
export * from "./results";
export * from "./plots/index";
export * from "./display";
export * from "./tslab-guard";
export * from "./interrupt";
export { cleanError } from "./errors";
export * from "./tables";
export * from "./predict";
