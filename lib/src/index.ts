/**
 * The public API of the `fmnist` library: what the notebooks, the report and users call, by name and
 * grouped by job. Everything else (the wasm kernels and their registration, the tslab hooks, rendering
 * and formatting helpers) is internal: `fmnist/internal` (lib/src/internal.ts), for the tests and the
 * bench. test/public-api.test.ts keeps this list explicit: a name added or removed here must be added
 * to or removed from its recorded list too.
 */

// Configuration: the profile's settings (seeded, with reasons), environment overrides, notebook parts.
export { resolveConfig, describeConfig, notebookParts, PROFILES } from "./config";
export type { Config, ProfileName, BackendRequest, NotebookParts } from "./config";
export { createRng } from "./random";
export type { Rng } from "./random";

// Data: the Fashion-MNIST files, the seeded split, tensors, the Kaggle CSV layout.
export { CLASS_NAMES, NUM_CLASSES, IMAGE_SIZE } from "./data/classes";
export { loadFashionMnist, resolveDataDir, classCounts, selectImages } from "./data/fashion-mnist";
export type { ImageSet, DatasetPart } from "./data/fashion-mnist";
export { makeSplit, saveSplit, loadSplit, splitId, stratifiedSplit, balancedSubset } from "./data/split";
export type { Split } from "./data/split";
export { toTensors, normalizePixels } from "./data/tensors";
export type { TensorData } from "./data/tensors";
export { readKaggleCsv, writeKaggleCsv } from "./data/csv";
export { loadStudyData } from "./study-data";
export type { StudyData } from "./study-data";

// Backend: choose and initialise the tfjs backend (the kernels below it are internal).
export { initBackend, currentBackend } from "./backend/select";
export type { BackendInfo } from "./backend/select";

// Models: the registry (every architecture by name, built fresh), optimizers, the custom layers.
export { MODEL_NAMES, buildModel, describeModel, resolveModelOptions, makeOptimizer, modelSummary } from "./models";
export type { ModelName, ModelOptions, ResolvedModelOptions, ModelSpec, TrainingHint, OptimizerName, ModelSummary, SummaryRow } from "./models";
export { SeededDropout, PlainConv2D, FastBatchNorm } from "./layers";
export { disposeModel } from "./dispose-model";
export { forwardMacsPerImage, trainingMacsPerImage, modelMacsByLayer } from "./cost";
export type { LayerMacs } from "./cost";

// Training: the seeded loop, learning-rate schedules, augmentation, and the per-model routine.
export { trainModel } from "./train";
export type { TrainData, TrainOptions, EarlyStoppingOptions, MonitorName } from "./train";
export type { TrainHistory } from "./history";
export type { EpochLog, ProgressMode } from "./progress";
export { scheduledLearningRate } from "./schedules";
export type { LearningRateSchedule } from "./schedules";
export { augmentBatch, augmentPreview } from "./augment";
export type { AugmentOptions, AugmentPreview } from "./augment";
export { trainAndEvaluate, describeRun } from "./train-and-evaluate";
export type { TrainAndEvaluateOptions, TrainAndEvaluateResult } from "./train-and-evaluate";

// Experiments: what a notebook does around its models (config, backend, data, train, save, results).
export { experiment, trainingRecipe, fittedResult } from "./experiment";
export type { Experiment, ExperimentOptions, ExperimentTrainOptions, RunRecord, TrainingRecipe } from "./experiment";
export { showModel, showRuns, showWriteupComparison } from "./run-views";
export type { ModelSummaryShown } from "./run-views";

// Evaluation: loss and accuracy, predictions, metrics, the classical baselines.
export { evaluateModel, predictClasses, evaluateWithFlips } from "./evaluate";
export type { LabelledTensors } from "./evaluate";
export { predictProbabilities } from "./predict";
export { accuracy, argmaxLabels, confusionMatrix, normalizeRows, perClassAccuracy, topConfusions, classificationReport, formatClassificationReport } from "./metrics";
export type { Labels, Confusion, ReportRow, ClassificationReport } from "./metrics";
export { trainRandomForest, trainLinearSvm, ZALANDO_BENCHMARK } from "./classical";
export type { ByteClassifier, RandomForestOptions, LinearSvmOptions, LinearSvm } from "./classical";

// Tuning: the random search and the deterministic plan of the final training.
export { spaceSize, sampleTrials, runSearch, bestTrial, DEFAULT_SEARCH_SPACE } from "./tuning";
export type { SearchSpace, Trial, TrialResult, SearchOptions } from "./tuning";
export { describePlan, planRows, planFinalTraining } from "./training-plan";
export { describeTarget, STUDY_TARGET } from "./study-target";
export type { TrainingPlan, FinalTrainingOptions } from "./training-plan";
// The search's setup: the profile's budget, notebook 10's FMNIST_TRIALS, the trial store (search.ts, search-store.ts).
export { SEARCH_BUDGETS, TRIALS_PARAMETER, searchParameters, searchBudget, prepareSearch } from "./search";
export type { SearchBudget, PreparedSearch } from "./search";
export type { SearchKey, TrialStore } from "./search-store";

// Saving and results: trained models with provenance, each notebook's results file.
export { saveModel, loadModel, listSavedModels, readModelMeta } from "./persist";
export type { ModelMeta } from "./persist";
export { writeResults, readResults, listResults, modelResult, reportedVsOurs } from "./results";
export type { NotebookResults, ModelResult, ResultsFile, ComparisonRow } from "./results";

// Statistics of image sets.
export { meanImagesByClass, imageStatistics, pairwiseDistances, closestPairs, histogramCounts } from "./stats";
export type { ImageStatistics, ClassPair } from "./stats";

// Charts: one builder per chart, each a plain Plotly figure; its static SVG rendering.
export { learningCurves } from "./plots/curves";
export type { CurveHistory } from "./plots/curves";
export { classDistribution, intensityHistogram } from "./plots/distributions";
export type { IntensityHistogramOptions } from "./plots/distributions";
export { confusionHeatmap, perClassMetricBars, matrixHeatmap } from "./plots/confusion";
export type { ClassMetricsRow } from "./plots/confusion";
export { modelComparison, parallelCoordinates } from "./plots/comparison";
export type { ModelComparisonRow } from "./plots/comparison";
export { imageGrid, sampleGrid, meanImageFigure, predictionGrid, imageAt, samplesPerClass } from "./plots/images";
export type { ImageGridOptions, ImageSource, PredictionGridOptions } from "./plots/images";
export { figureSvg } from "./plots/svg";
export type { SvgOptions } from "./plots/svg";
export type { Figure, Layout, Axis, Annotation, Shape, PlotlyTrace, ScatterTrace, BarTrace, HistogramTrace, HeatmapTrace, ImageTrace, ParcoordsTrace } from "./plots/types";

// Display in a notebook (text elsewhere): charts, HTML, Markdown, tables.
export { show, showHtml, showText, showMarkdown, loadPlotly, figureHtml, inNotebook } from "./display";
export type { ShowOptions, FigureHtmlOptions } from "./display";
export { table, showTable, showFrame } from "./tables";
export type { Row, TableLike, ShowTableOptions } from "./tables";
