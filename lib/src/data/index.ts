/** Data: the Fashion-MNIST files, their verification, CSV layout, splits and tensors. */
export * from "./classes";
export * from "./idx";
export * from "./integrity";
export * from "./fashion-mnist";
export * from "./csv";
export * from "./split";
export * from "./tensors";
