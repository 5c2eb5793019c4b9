/**
 * The one way this library reads tensors back. Every read is asynchronous (`data()`): on webgpu in
 * Node the synchronous reads (`dataSync`, `arraySync`) of GPU tensors fail ("OffscreenCanvas is not
 * defined"), so code that must run on every backend cannot use them (test/async-reads.test.ts
 * checks that lib and the notebooks do not).
 */
import type * as tf from "@tensorflow/tfjs";

/** A tensor's values, read asynchronously; the tensor is disposed whether or not the read succeeds. */
export async function readAndDispose<T extends tf.DataType = "int32">(t: tf.Tensor): Promise<tf.DataTypeMap[T]> {
  try {
    return (await t.data()) as tf.DataTypeMap[T];
  } finally {
    t.dispose();
  }
}
