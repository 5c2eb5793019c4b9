/**
 * tf.image.transform (the "Transform" kernel, which augmentation uses for shifts, flips and rotations) for backends
 * that lack it: tfjs-node has none, so without this, augmented training and notebook 02's augmentation preview fail
 * as soon as `auto` picks native TensorFlow. Same semantics as TensorFlow's ImageProjectiveTransform with
 * fill mode "constant" (the only one the study uses): each output pixel reads the input pixel its row of the
 * transform maps it to, nearest (rounded) or bilinear, and the fill value outside the image. Runs on the CPU
 * through the backend's synchronous reads (native TensorFlow's tensors live in host memory).
 */
import * as tf from "@tensorflow/tfjs";

/** Output values of a projective transform of `image` ([batch, height, width, channels], row-major). */
export function projectiveTransform(
  image: ArrayLike<number>, shape: readonly [number, number, number, number], transforms: ArrayLike<number>,
  interpolation: "nearest" | "bilinear", fillValue: number,
): Float32Array {
  const [batch, h, w, c] = shape;
  const out = new Float32Array(batch * h * w * c).fill(fillValue);
  const perImage = transforms.length === 8 ? 0 : 8;
  if (transforms.length !== 8 && transforms.length !== 8 * batch) throw new Error(`Transform: expected 8 or ${8 * batch} transform values, got ${transforms.length}.`);
  const read = (b: number, y: number, x: number, ch: number): number => (y >= 0 && y < h && x >= 0 && x < w ? image[((b * h + y) * w + x) * c + ch] : fillValue);
  for (let b = 0; b < batch; b++) {
    const t = (k: number): number => transforms[b * perImage + k];
    for (let oy = 0; oy < h; oy++) {
      for (let ox = 0; ox < w; ox++) {
        const projection = t(6) * ox + t(7) * oy + 1;
        if (projection === 0) continue;
        const x = (t(0) * ox + t(1) * oy + t(2)) / projection;
        const y = (t(3) * ox + t(4) * oy + t(5)) / projection;
        for (let ch = 0; ch < c; ch++) {
          let v: number;
          if (interpolation === "nearest") v = read(b, Math.round(y), Math.round(x), ch);
          else {
            const y0 = Math.floor(y);
            const x0 = Math.floor(x);
            const top = (x0 + 1 - x) * read(b, y0, x0, ch) + (x - x0) * read(b, y0, x0 + 1, ch);
            const bottom = (x0 + 1 - x) * read(b, y0 + 1, x0, ch) + (x - x0) * read(b, y0 + 1, x0 + 1, ch);
            v = (y0 + 1 - y) * top + (y - y0) * bottom;
          }
          out[((b * h + oy) * w + ox) * c + ch] = v;
        }
      }
    }
  }
  return out;
}

interface HostBackend {
  readSync(dataId: object): ArrayLike<number>;
  write(values: Float32Array, shape: number[], dtype: tf.DataType): object;
}

/** Registers the fallback for `backendName` when it has no Transform kernel of its own. Returns whether it did. */
export function registerTransformFallback(backendName: string): boolean {
  if (tf.getKernel("Transform", backendName)) return false;
  tf.registerKernel({
    kernelName: "Transform",
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { image, transforms } = inputs as { image: tf.TensorInfo; transforms: tf.TensorInfo };
      const a = attrs as unknown as { interpolation: "nearest" | "bilinear"; fillMode: string; fillValue: number; outputShape?: [number, number] | null };
      if (a.fillMode !== "constant") throw new Error(`Transform on ${backendName}: only fill mode "constant" is implemented here, got "${a.fillMode}"; use the wasm or cpu backend.`);
      const shape = image.shape as [number, number, number, number];
      if (a.outputShape && (a.outputShape[0] !== shape[1] || a.outputShape[1] !== shape[2])) {
        throw new Error(`Transform on ${backendName}: an output shape other than the input's is not implemented here; use the wasm or cpu backend.`);
      }
      const host = backend as unknown as HostBackend;
      const values = projectiveTransform(host.readSync(image.dataId), shape, host.readSync(transforms.dataId), a.interpolation, a.fillValue);
      return { dataId: host.write(values, [...shape], "float32"), shape: [...shape], dtype: "float32" } as tf.TensorInfo;
    },
  });
  return true;
}
