/**
 * The WebGPU backend in Node: Dawn's Node bindings (npm `webgpu`, an optional dependency) under
 * @tensorflow/tfjs-backend-webgpu. Dawn reaches a GPU through Vulkan (Linux), Metal or D3D12, with
 * no CUDA and nothing downloaded at install. Two software adapters exist for tests: Mesa's
 * llvmpipe through OpenGL ES (EGL surfaceless, WebGPU "compatibility" level) and Mesa ≥ 25's
 * lavapipe through Vulkan; they are used only when FMNIST_WEBGPU_ADAPTER=software asks for them.
 *
 * Facts this module relies on (measured): Dawn's globals and `navigator.gpu` must exist before
 * tfjs-backend-webgpu loads (it registers itself only when `navigator.gpu` is there);
 * `tf.setBackend("webgpu")` returns false and stays where it was when no adapter is found, so
 * the result is checked with `tf.getBackend()`; synchronous reads (`dataSync`, `arraySync`) of
 * GPU tensors fail in Node ("OffscreenCanvas is not defined"), only `data()`/`array()` work.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";

/** Which kind of adapter FMNIST_WEBGPU_ADAPTER asks for. */
export const WEBGPU_ADAPTER_KINDS = ["hardware", "software"] as const;
export type WebGpuAdapterKind = (typeof WEBGPU_ADAPTER_KINDS)[number];

/** The adapter the webgpu backend runs on, as the backend line and the results name it. */
export interface WebGpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Dawn's backend: vulkan, opengles, metal, d3d12. */
  api: string;
  software: boolean;
}

/** WebGPU cannot start here; the message says why (no module, no adapter, adapter rejected). */
export class WebGpuUnavailableError extends Error {}

/**
 * Reads and validates FMNIST_WEBGPU_ADAPTER: "hardware" (default) or "software". An invalid value
 * is an error under every backend request, as for the wasm settings.
 */
export function webgpuAdapterSetting(env: NodeJS.ProcessEnv = process.env): WebGpuAdapterKind {
  const raw = (env.FMNIST_WEBGPU_ADAPTER ?? "hardware").trim();
  if (!(WEBGPU_ADAPTER_KINDS as readonly string[]).includes(raw)) {
    throw new Error(
      `Invalid configuration: FMNIST_WEBGPU_ADAPTER = "${raw}": choose hardware (default: a real GPU) or software ` +
        `(Mesa's llvmpipe/lavapipe on the CPU, for tests; far slower than wasm).`,
    );
  }
  return raw as WebGpuAdapterKind;
}

/** Minimal shapes of the WebGPU objects used here (the `webgpu` package's types are not a dependency of lib). */
interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor?: unknown): Promise<unknown>;
}
interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<GpuAdapterLike | null>;
}
interface DawnModule {
  create(options: string[]): GpuLike;
  globals: Record<string, unknown>;
}

const SOFTWARE_DEVICE = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

let dawn: DawnModule | undefined;

/** Loads Dawn's Node addon (the prebuilt dawn.node of the `webgpu` package) or says why it cannot. */
function loadDawn(): DawnModule {
  if (dawn) return dawn;
  let dir: string;
  try {
    dir = path.dirname(require.resolve("webgpu/package.json"));
  } catch {
    throw new WebGpuUnavailableError("the optional package `webgpu` (Dawn's Node bindings) is not installed: run npm ci on linux-x64/arm64, macOS or Windows");
  }
  const arch = process.platform === "darwin" ? "universal" : process.arch;
  const addon = path.join(dir, "dist", `${process.platform}-${arch}`, "dawn.node");
  if (!fs.existsSync(addon)) throw new WebGpuUnavailableError(`the \`webgpu\` package has no Dawn build for ${process.platform}-${arch} (${addon} missing)`);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    dawn = require(addon) as DawnModule;
  } catch (err) {
    throw new WebGpuUnavailableError(`Dawn's addon does not load (${(err as Error).message.split("\n")[0]})`);
  }
  return dawn;
}

/** libvulkan.so.1 somewhere the dynamic loader looks (Linux only). */
function vulkanLoaderPresent(): boolean {
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean),
    `/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu`,
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
  ];
  return dirs.some((d) => fs.existsSync(path.join(d, "libvulkan.so.1")));
}

/**
 * Whether a hardware adapter can exist, checked without loading Dawn (which prints warnings when it
 * finds none): on Linux a GPU device node (/dev/dri/renderD*, /dev/nvidiactl) and the Vulkan loader.
 * Used by "auto" only, so machines without a GPU never load Dawn.
 */
export function hardwareGpuPossible(): { possible: boolean; why: string } {
  if (process.platform !== "linux") return { possible: true, why: "" };
  let nodes: string[] = [];
  try {
    nodes = fs.readdirSync("/dev/dri").filter((n) => n.startsWith("renderD")).map((n) => `/dev/dri/${n}`);
  } catch {
    // no DRM devices
  }
  if (fs.existsSync("/dev/nvidiactl")) nodes.push("/dev/nvidiactl");
  if (nodes.length === 0) return { possible: false, why: "no GPU device (/dev/dri/renderD*, /dev/nvidiactl)" };
  if (!vulkanLoaderPresent()) return { possible: false, why: "no Vulkan loader (libvulkan.so.1; apt-get install libvulkan1 and the GPU's Vulkan driver)" };
  return { possible: true, why: "" };
}

function describe(adapter: GpuAdapterLike, api: string): WebGpuAdapterInfo {
  const i = adapter.info ?? {};
  const text = `${i.device ?? ""} ${i.description ?? ""}`;
  return {
    vendor: i.vendor ?? "",
    architecture: i.architecture ?? "",
    device: i.device ?? "",
    description: i.description ?? "",
    api,
    software: Boolean(i.isFallbackAdapter) || SOFTWARE_DEVICE.test(text),
  };
}

/** One line naming the adapter: "llvmpipe (software, opengles; OpenGL ES 3.2 Mesa 22.3.6)". */
export function adapterLine(a: WebGpuAdapterInfo): string {
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(" ") || "unnamed adapter";
  return `${name} (${a.software ? "software" : "hardware"}, ${a.api}${a.description ? `; ${a.description}` : ""})`;
}

interface Found {
  gpu: GpuLike;
  adapter: GpuAdapterLike;
  options: Record<string, unknown>;
  info: WebGpuAdapterInfo;
}

/**
 * Finds an adapter of the requested kind, or throws WebGpuUnavailableError naming every route
 * tried and what it gave.
 */
async function findAdapter(kind: WebGpuAdapterKind): Promise<Found> {
  const d = loadDawn();
  const tried: string[] = [];
  const attempt = async (dawnOptions: string[], options: Record<string, unknown>, api: string): Promise<Found | undefined> => {
    let adapter: GpuAdapterLike | null;
    const gpu = d.create(dawnOptions);
    try {
      adapter = await gpu.requestAdapter(options);
    } catch (err) {
      tried.push(`${api}: ${(err as Error).message.split("\n")[0]}`);
      return undefined;
    }
    if (!adapter) {
      tried.push(`${api}: no adapter`);
      return undefined;
    }
    const info = describe(adapter, api);
    if (info.software !== (kind === "software")) {
      tried.push(`${api}: ${adapterLine(info)} rejected: ${info.software ? "a software adapter (set FMNIST_WEBGPU_ADAPTER=software to use it)" : "a hardware adapter, software was asked for"}`);
      return undefined;
    }
    return { gpu, adapter, options, info };
  };
  const hp = { powerPreference: "high-performance" };
  let found: Found | undefined;
  if (kind === "hardware") {
    const backendOption = process.platform === "linux" ? ["backend=vulkan"] : [];
    if (process.platform === "linux" && !vulkanLoaderPresent()) tried.push("vulkan: no Vulkan loader (libvulkan.so.1)");
    else found = await attempt(backendOption, hp, process.platform === "linux" ? "vulkan" : process.platform === "darwin" ? "metal" : "d3d12");
  } else {
    // Mesa ≥ 25's lavapipe through Vulkan, else llvmpipe through OpenGL ES (EGL without a display).
    if (process.platform === "linux" && vulkanLoaderPresent()) found = await attempt(["backend=vulkan"], hp, "vulkan");
    if (!found && process.platform === "linux") {
      process.env.EGL_PLATFORM ??= "surfaceless";
      found = await attempt(["backend=opengles"], { ...hp, featureLevel: "compatibility" }, "opengles");
    }
  }
  if (!found) {
    const hint = kind === "software"
      ? "On Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri (Mesa's llvmpipe through OpenGL ES)."
      : "Needs a GPU with a current Vulkan driver (libvulkan1 and the vendor's ICD), Metal or D3D12; FMNIST_WEBGPU_ADAPTER=software uses Mesa on the CPU instead.";
    throw new WebGpuUnavailableError(`no ${kind} WebGPU adapter (${tried.join("; ")}). ${hint}`);
  }
  return found;
}

let active: WebGpuAdapterInfo | undefined;

/** The adapter the webgpu backend was started on, if it was. */
export function webgpuAdapter(): WebGpuAdapterInfo | undefined {
  return active;
}

/**
 * Starts tfjs's webgpu backend on an adapter of the given kind and makes it current. Throws
 * WebGpuUnavailableError when Dawn, an adapter or the backend cannot start.
 */
export async function startWebGpu(kind: WebGpuAdapterKind): Promise<WebGpuAdapterInfo> {
  if (active && tf.findBackend("webgpu")) {
    if (active.software !== (kind === "software")) throw new WebGpuUnavailableError(`webgpu already runs on ${adapterLine(active)} in this process; restart to use a ${kind} adapter`);
    await tf.setBackend("webgpu");
    return active;
  }
  const found = await findAdapter(kind);
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(loadDawn().globals)) if (!(k in g)) g[k] = v;
  // tfjs-backend-webgpu asks navigator.gpu for an adapter itself: hand it the one chosen here.
  const gpu = { requestAdapter: async () => found.adapter, getPreferredCanvasFormat: () => "rgba8unorm", wgslLanguageFeatures: new Set<string>() };
  const nav = (g.navigator ?? {}) as Record<string, unknown>;
  try {
    Object.defineProperty(nav, "gpu", { value: gpu, configurable: true, writable: true });
    if (!g.navigator) Object.defineProperty(globalThis, "navigator", { value: nav, configurable: true, writable: true });
  } catch (err) {
    throw new WebGpuUnavailableError(`navigator.gpu cannot be set in this process (${(err as Error).message})`);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("@tensorflow/tfjs-backend-webgpu");
  } catch (err) {
    throw new WebGpuUnavailableError(`@tensorflow/tfjs-backend-webgpu does not load (${(err as Error).message.split("\n")[0]}); run npm ci`);
  }
  if (!tf.findBackendFactory("webgpu")) throw new WebGpuUnavailableError("@tensorflow/tfjs-backend-webgpu did not register (it was loaded before navigator.gpu existed)");
  let ok = false;
  let why = "";
  try {
    ok = await tf.setBackend("webgpu");
    if (ok) await tf.ready();
  } catch (err) {
    why = ` (${(err as Error).message.split("\n")[0]})`;
  }
  if (!ok || tf.getBackend() !== "webgpu") throw new WebGpuUnavailableError(`the adapter ${adapterLine(found.info)} was found but tfjs's webgpu backend did not start on it${why}`);
  active = found.info;
  return active;
}
