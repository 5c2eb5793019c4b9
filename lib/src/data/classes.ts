/** Fashion-MNIST's ten classes, in label order (label i is CLASS_NAMES[i]). */
export const CLASS_NAMES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
] as const;

/** Number of classes. */
export const NUM_CLASSES = CLASS_NAMES.length;

/** Image side length in pixels. */
export const IMAGE_SIZE = 28;
