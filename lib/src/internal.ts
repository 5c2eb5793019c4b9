/**
 * The library's internals, for the tests and the bench (`fmnist/internal`; notebooks and the report
 * use the public entry, index.ts): the backend's wasm kernels and their registration, the tslab hooks,
 * interrupts, and the helpers the public functions are built from.
 */

// Backend: kernels, their registration table, threads, the fused optimizer and batch-norm ops.
export * from "./backend/index";

// Configuration and data details.
export { wasmSettingsOf, wasmSettings, PROFILE_NAMES, ENV_KEYS, BACKEND_REQUESTS, DATASET_LIMITS, WASM_KERNEL_SETS, MAX_WASM_THREADS } from "./config";
export type { WasmThreads, WasmSettings } from "./config";
export { DATA_FILES } from "./data/fashion-mnist";
export { parseIdx, gunzip, encodeIdx } from "./data/idx";
export type { IdxArray } from "./data/idx";
export { dataFixHint, readChecksums, sha256, readVerified, clearVerificationCache } from "./data/integrity";
export { formatKaggleCsv, parseKaggleCsv, KAGGLE_HEADER } from "./data/csv";
export { splitPath } from "./data/split";
export { writeFileAtomic } from "./io";
export { escapeHtml } from "./html";
export { cleanError } from "./errors";

// Training internals: label conversion, optimizer rates, progress reporters, augmentation draws, costs.
export { toSparseLabels } from "./evaluate";
export { validateSchedule, setLearningRate, baseLearningRate } from "./schedules";
export { createReporter, fmtSec } from "./progress";
export type { Reporter } from "./progress";
export { drawAugmentParams, transformRow } from "./augment";
export type { AugmentParams } from "./augment";
export { layerMacs, registryTrainingMacsPerImage, TRAINING_MACS_PER_FORWARD_MAC } from "./cost";

// Running inside tslab: the kernel hooks, interrupts, the updatable display entry, plotly.js.
export { queueSocketSends, tslabKernel, markCellFailed, patchExecuteStatus } from "./tslab-guard";
export type { TslabJupyter } from "./tslab-guard";
export { currentInterruptScope, withInterrupts } from "./interrupt";
export type { InterruptScope } from "./interrupt";
export { displayBundle, figureSummary, PLOTLY_MIME, updatableDisplay, plotlyJsSource, plotlyJsVersion, plotlyScriptTag, plotlyLocation } from "./display";
export type { MimeBundle, UpdatableDisplay, PlotlyLocation } from "./display";

// Tuning: the pieces of the final-training plan.
export { epochMacs, epochsInComputeBudget, planTraining, FULL_PROFILE_COMPUTE_BUDGET } from "./training-plan";
export type { PlanCandidate, ComputeBudget, PlanRules, CandidatePlan } from "./training-plan";
export type { TrialScores } from "./tuning";

// Saving and results: paths, validation, the write-ups' figures as results read them.
export { modelDir } from "./persist";
export type { ModelMetaInput } from "./persist";
export { resultsPath, validateResults, WRITEUP_REPORTED } from "./results";
export type { HistoryLike, ReportedResult } from "./results";

// Chart rendering and layout helpers, table formatting.
export { figureSize, figureSvgDataUri } from "./plots/svg";
export { axisSuffix, panelAxes, panelDomain, gridLayout } from "./plots/grid";
export type { GridOptions } from "./plots/grid";
export { toMatrix } from "./plots/images";
export type { Pixels } from "./plots/images";
export type { TraceBase, ParcoordsDimension, Matrix } from "./plots/types";
export { encodeGreyPng, greyImageDataUri } from "./plots/png";
export { formatCell, toTextGrid, gridHtml, gridText } from "./tables";
export type { TextGrid, FrameLike, SeriesLike, ArqueroTable } from "./tables";
