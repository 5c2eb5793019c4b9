/**
 * The five Python/Keras write-ups this study reproduces, as data: what each one is and did, and
 * every figure it reported, keyed to the model of ours that reproduces it. This is the one place
 * their numbers are typed in; docs/writeups.md describes the same write-ups in prose. Derived from
 * here: `WRITEUP_REPORTED` / `reportedVsOurs` (results.ts, used by the notebooks) and the report's
 * and README's comparison tables (scripts/report/reference.ts).
 */

/** Write-up ids, in the order the study numbers them. */
export type WriteupId = "000" | "001" | "002" | "003" | "004";

/** One write-up: how it names itself and what it did. */
export interface Writeup {
  id: WriteupId;
  /** Its title, as its own heading gives it. */
  title: string;
  /** Author, address and licence as far as the write-up itself states them. */
  source: string;
  /** What it did, in one sentence. */
  did: string;
  /** What it found without a number we can compare (relative gains, worst class, …). */
  findings: readonly string[];
}

export const WRITEUPS: readonly Writeup[] = [
  {
    id: "000",
    title: "Fashion MNIST: Data Exploration and Deep Learning Model",
    source: "no author or address given in the text",
    did: "Explored the data; trained CNNs with 32 and with 64 filters, then a \"new model\" with a MaxPooling layer, retrained it with RMSprop as its hyperparameter tuning; visualised test predictions and printed a classification report.",
    findings: ["the MaxPooling model is called the best (lowest training loss, highest training accuracy)", "classification report: accuracy 0.91 on 10,000 test images; Class 6 (Shirt) lowest, f1 0.78"],
  },
  {
    id: "001",
    title: "Fashion MNIST Classification with Deep Learning",
    source: "no author or address given in the text",
    did: "Normalised pixels to [0, 1]; trained a shallow dense network (one hidden layer), a simple CNN, a deep CNN and the deep CNN with extra layers, 10 epochs, batch 32, Adam, sparse categorical cross-entropy, evaluated on the test set (its validation and test accuracies are the same numbers); confusion matrix, classification report, training curves, 10 sample predictions.",
    findings: ["the deep CNN reported identical to the simple CNN", "a \"shallow network with incorrect results\" at 10% accuracy, shown as a lesson in preprocessing and configuration", "best: the simple CNN"],
  },
  {
    id: "002",
    title: "Convolutional Neural Network Classification model on Fashion MNIST Dataset",
    source: "images hosted in the GitHub repository VesnaPop-Dimitrijoska/Convolutional-Neural-Network-Classification-model-FashionMNIST; MIT License",
    did: "A CNN through data analysis, preprocessing, data augmentation, hyperparameter optimisation, prediction and evaluation: several architectures tested, one with MaxPooling2D (left out of the final model), the best result from training with data augmentation; per-class prediction histograms.",
    findings: ["MaxPooling2D improved accuracy by nearly 0.5%", "data augmentation gave the best result, nearly +2.5%, with training \"extremely slow\"; not combined with MaxPooling2D", "most confused: Shirt, Coat, Pullover, T-shirt/Top and sometimes Dress; Shirt vs T-shirt/Top the most; Shirt lowest F1"],
  },
  {
    id: "003",
    title: "Fashion MNIST Classification",
    source: "no author or address given in the text; MIT License",
    did: "A workflow: sample images and pixel statistics; normalisation; train/validation/test split; a CNN, fully connected networks, SVMs and Random Forests; hyperparameter tuning; accuracy, confusion matrix, classification report, learning curves, predictions on test images.",
    findings: ["no figures reported"],
  },
  {
    id: "004",
    title: "Neural Network - Fashion MNIST",
    source: "no author given; cites its data as \"Dataset from Kaggle\", https://www.kaggle.com/zalando-research/fashionmnist",
    did: "Read the data as a table (a label column and 784 pixel columns), checked for missing values, explored it, one-hot encoded the labels, split it into training and test sets and trained a deep neural network with regularisation and early stopping; classification report on the test set.",
    findings: ["regularisation with early stopping improved accuracy; training ran 49 epochs", "Shirt has the lowest f1-score (some of its images have missing parts or are of low quality)"],
  },
];

/** Metric names a write-up figure can carry: the same flat names as our results (results.ts). */
export type ReportedMetric = "train_loss" | "train_acc" | "val_loss" | "val_acc" | "test_loss" | "test_acc" | "epochs";

/** What a comparison table puts beside ours: one accuracy a write-up reported. */
export type ComparedMetric = "val_acc" | "test_acc" | "train_acc";

/** Figures one write-up reported for one of its models. */
export interface WriteupFigures {
  writeUp: WriteupId;
  /** The model as the write-up names it. */
  model: string;
  /** Our result name (registry name in models.ts, or a variant such as "cnn_maxpool_rmsprop") that reproduces it. */
  ourModel: string;
  /** What the write-up's model was and how it measured (e.g. whether "validation" was the test set). */
  note: string;
  /** Every figure it states, in the write-up's order. */
  metrics: Partial<Record<ReportedMetric, number>>;
  /** The headline figure the report's and README's comparison tables show, with the write-up's wording. */
  compared?: { metric: ComparedMetric; wording: string };
}

/**
 * Every figure the write-ups report, in the order the report's comparison table lists them. Two
 * entries for one `ourModel` (000's MaxPooling model: its training run and its classification
 * report) are merged by `WRITEUP_REPORTED` in results.ts.
 */
export const WRITEUP_FIGURES: readonly WriteupFigures[] = [
  { writeUp: "000", model: "CNN, 32 filters", ourModel: "cnn32", note: "CNN, 32 filters; their validation split", metrics: { train_loss: 0.1421, train_acc: 0.9482, val_loss: 0.2511, val_acc: 0.9165 }, compared: { metric: "val_acc", wording: "val loss 0.2511, acc 0.9165" } },
  { writeUp: "000", model: "CNN, 64 filters", ourModel: "cnn64", note: "CNN, 64 filters; their validation split", metrics: { train_loss: 0.1114, train_acc: 0.9586, val_loss: 0.271, val_acc: 0.9119 }, compared: { metric: "val_acc", wording: "val loss 0.2710, acc 0.9119" } },
  { writeUp: "000", model: "CNN + MaxPooling (their best)", ourModel: "cnn_maxpool", note: "\"new model\" with MaxPooling", metrics: { train_loss: 0.0156, train_acc: 0.9963, val_loss: 0.4081, val_acc: 0.9152 }, compared: { metric: "val_acc", wording: "val loss 0.4081, acc 0.9152" } },
  { writeUp: "000", model: "CNN + MaxPooling, tuned (RMSprop)", ourModel: "cnn_maxpool_rmsprop", note: "the same model \"tuned\" with RMSprop", metrics: { train_loss: 0.0048, train_acc: 0.9986, val_loss: 1.315, val_acc: 0.9067 }, compared: { metric: "val_acc", wording: "val loss 1.3150, acc 0.9067" } },
  { writeUp: "000", model: "best model, classification report", ourModel: "cnn_maxpool", note: "test accuracy from its classification report (10,000 images)", metrics: { test_acc: 0.91 }, compared: { metric: "test_acc", wording: "accuracy 0.91 on 10,000 test images" } },
  { writeUp: "001", model: "shallow dense network", ourModel: "dense_shallow", note: "Flatten → Dense → Dense, 10 epochs, batch 32, Adam; validation = test set", metrics: { train_acc: 0.9103, val_acc: 0.8866, test_acc: 0.8866, test_loss: 0.3321, epochs: 10 }, compared: { metric: "test_acc", wording: "test acc 0.8866, loss 0.3321" } },
  { writeUp: "001", model: "shallow network with incorrect results", ourModel: "dense_shallow_unnormalised", note: "\"shallow network with incorrect results\": a preprocessing/configuration mistake", metrics: { test_acc: 0.1 }, compared: { metric: "test_acc", wording: "\"shallow network with incorrect results\": 10% test accuracy" } },
  { writeUp: "001", model: "simple CNN", ourModel: "cnn_simple", note: "simple CNN, 10 epochs, batch 32, Adam; validation = test set", metrics: { train_acc: 0.9197, val_acc: 0.9105, test_acc: 0.9105, test_loss: 0.2508, epochs: 10 }, compared: { metric: "test_acc", wording: "test acc 0.9105, loss 0.2508" } },
  { writeUp: "001", model: "deep CNN", ourModel: "cnn_deep", note: "deep CNN; reported identical to the simple CNN", metrics: { train_acc: 0.9197, val_acc: 0.9105, test_acc: 0.9105, test_loss: 0.2508, epochs: 10 }, compared: { metric: "test_acc", wording: "reported identical to the simple CNN (0.9105)" } },
  { writeUp: "004", model: "dense network with regularisation and early stopping", ourModel: "dense_regularized", note: "dense network with regularisation and early stopping; only the epoch count is stated", metrics: { epochs: 49 } },
  { writeUp: "002", model: "CNN trained with data augmentation", ourModel: "cnn_augmented", note: "augmentation reported as about +2.5 points over their unaugmented CNN; no absolute figure", metrics: {} },
];

/** A published figure that is not one of the write-ups', shown beside them in the report for scale. */
export interface AnchorFigure {
  /** The model as its source names it. */
  model: string;
  /** Our model it is comparable with. */
  ourModel: string;
  metric: ComparedMetric;
  value: number;
  /** The source and its wording. */
  wording: string;
}

/** Public anchors (not write-ups): the README's results table leaves them out, the report shows them. */
export const ANCHOR_FIGURES: readonly AnchorFigure[] = [
  { model: "TensorFlow tutorial, Dense 128", ourModel: "dense_shallow", metric: "test_acc", value: 0.88, wording: "TensorFlow \"Basic classification\": test accuracy about 0.88" },
];
