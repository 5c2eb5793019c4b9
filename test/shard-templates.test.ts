// The engine templates, checked offline: no GitHub, no cluster, no Docker engine here. The workflow and the
// Kubernetes manifest are parsed with the `yaml` package and checked structurally against the keys GitHub Actions
// and Kubernetes accept where this project uses them (actionlint also runs when it is on PATH; it is not installable
// here); the commands they run are parsed by the runner's own argument parser. The Dockerfile is checked line by
// line (base image, non-root user, npm ci from the lockfile, entry point); it is not built.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { parseArgs } from "../scripts/runner/args";
import { parseMergeArgs } from "../scripts/merge";
import { resolveShard } from "../scripts/runner/shard";

const ROOT = path.resolve(__dirname, "..");
type Obj = Record<string, any>;

function onlyKeys(o: Obj, allowed: string[], where: string): void {
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  assert.deepEqual(extra, [], `${where}: unknown keys ${extra.join(", ")}`);
}

/** Splits a `run:` line into words (its quotes hold no spaces), with $VARS and ${{ matrix.shard }} replaced by samples. */
function words(line: string, vars: Record<string, string>): string[] {
  const expanded = line.replace(/\$\{\{\s*matrix\.shard\s*\}\}/g, "2").replace(/\$\{?([A-Z_]+)\}?/g, (_, v: string) => vars[v] ?? `/tmp/${v.toLowerCase()}`);
  return expanded.replace(/"/g, "").split(/\s+/).filter((w) => w !== "");
}

test("workflow .github/workflows/reproduce.yml: dispatch inputs, weekly schedule, a matrix job per shard, merge, report, pages", () => {
  const text = fs.readFileSync(path.join(ROOT, ".github", "workflows", "reproduce.yml"), "utf8");
  const wf = parseYaml(text, { strict: true, uniqueKeys: true }) as Obj;
  onlyKeys(wf, ["name", "on", "permissions", "concurrency", "env", "jobs", "defaults", "run-name"], "workflow");
  onlyKeys(wf.on, ["workflow_dispatch", "schedule", "push", "pull_request"], "on");
  const inputs = wf.on.workflow_dispatch.inputs as Obj;
  assert.deepEqual(Object.keys(inputs).sort(), ["profile", "publish", "shards"]);
  for (const [name, input] of Object.entries(inputs)) {
    onlyKeys(input, ["description", "type", "options", "default", "required"], `input ${name}`);
    assert.ok(["choice", "boolean", "string", "number"].includes(input.type), `input ${name} type`);
    if (input.type === "choice") assert.ok(input.options.map(String).includes(String(input.default)), `input ${name}: default among options`);
  }
  assert.deepEqual(inputs.profile.options, ["full", "quick"]);
  assert.equal(wf.on.schedule.length, 1);
  assert.match(wf.on.schedule[0].cron, /^(\S+\s+){4}\S+$/, "five cron fields");

  const jobKeys = ["name", "runs-on", "needs", "if", "steps", "strategy", "timeout-minutes", "outputs", "permissions", "environment", "env", "concurrency", "defaults", "continue-on-error"];
  const stepKeys = ["id", "if", "name", "uses", "run", "with", "env", "shell", "working-directory", "continue-on-error", "timeout-minutes"];
  for (const [name, job] of Object.entries(wf.jobs as Obj)) {
    onlyKeys(job, jobKeys, `job ${name}`);
    assert.equal(job["runs-on"], "ubuntu-latest", `job ${name} runs-on`);
    assert.ok(Number.isInteger(job["timeout-minutes"]), `job ${name} has a timeout`);
    for (const need of [job.needs ?? []].flat()) assert.ok(need in wf.jobs, `job ${name} needs unknown job ${need}`);
    job.steps.forEach((step: Obj, i: number) => {
      onlyKeys(step, stepKeys, `job ${name} step ${i + 1}`);
      assert.ok((step.uses === undefined) !== (step.run === undefined), `job ${name} step ${i + 1}: exactly one of uses/run`);
      if (step.uses) assert.match(step.uses, /^[\w.-]+\/[\w.-]+@v\d+$/, `job ${name} step ${i + 1}: action pinned to a major version`);
    });
  }
  // Balanced expressions; every ${{ steps.X }} / needs.X names something that exists.
  assert.equal((text.match(/\$\{\{/g) ?? []).length, (text.match(/\}\}/g) ?? []).length, "balanced ${{ }}");
  for (const m of text.matchAll(/needs\.([\w-]+)\./g)) assert.ok(m[1] in wf.jobs, `needs.${m[1]}`);

  const { plan, shard, merge, pages } = wf.jobs as Obj;
  assert.ok(plan && shard && merge && pages);
  assert.equal(shard.needs, "plan");
  assert.match(shard.strategy.matrix, /fromJSON\(needs\.plan\.outputs\.matrix\)/);
  assert.equal(shard.strategy["fail-fast"], false);
  for (const job of [plan, shard, merge]) {
    const cache = job.steps.find((s: Obj) => s.uses?.startsWith("actions/cache@"));
    assert.ok(cache, "node_modules cached");
    assert.equal(cache.with.path, "node_modules");
    assert.match(cache.with.key, /hashFiles\('package-lock\.json'\)/, "cache keyed by the lockfile");
    assert.ok(job.steps.some((s: Obj) => s.run === "npm ci --no-audit --no-fund"));
  }
  assert.ok(shard.steps.some((s: Obj) => s.uses?.startsWith("actions/upload-artifact@") && s.if === "always()" && /shard-\$\{\{ matrix\.shard \}\}/.test(s.with.name)), "each shard uploads its artifacts");
  assert.ok(merge.steps.some((s: Obj) => s.uses?.startsWith("actions/download-artifact@") && s.with.pattern === "shard-*"));
  assert.ok(merge.steps.some((s: Obj) => s.uses?.startsWith("actions/upload-pages-artifact@") && s.if === "inputs.publish"));
  assert.deepEqual(pages.permissions, { pages: "write", "id-token": "write" });
  assert.ok(pages.steps.some((s: Obj) => s.uses?.startsWith("actions/deploy-pages@")));

  // The commands parse with the project's own parsers, and the npm scripts exist.
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const vars = { PROFILE: "full", SHARDS: "4", RUNNER_TEMP: "/tmp/runner" };
  const runs = Object.values(wf.jobs as Obj).flatMap((j: Obj) => j.steps.filter((s: Obj) => s.run).map((s: Obj) => s.run as string));
  const runner = runs.filter((r) => r.includes("scripts/run-notebooks.ts"));
  assert.equal(runner.length, 2);
  for (const r of runner) {
    const argv = words(r, vars);
    const o = parseArgs(argv.slice(argv.indexOf("scripts/run-notebooks.ts") + 1), {}, ROOT);
    assert.equal(o.profile, "full");
    assert.ok(resolveShard(o.shard, o.shardCount, {}), `sharded: ${r}`);
  }
  const mergeRun = runs.find((r) => r.startsWith("npm run merge")) as string;
  assert.ok(pkg.scripts.merge && pkg.scripts.report);
  const m = parseMergeArgs(words(mergeRun, vars).slice(4), "/");
  assert.ok(m !== "help" && m.out === "/tmp/runner/merged" && m.shardDirs.length === 1);
  assert.ok(runs.some((r) => r.startsWith("npm run report -- --profile")));

  const actionlint = spawnSync("actionlint", ["-no-color", path.join(ROOT, ".github", "workflows", "reproduce.yml")], { encoding: "utf8" });
  if (actionlint.error === undefined) assert.equal(actionlint.status, 0, actionlint.stdout + actionlint.stderr);
});

test("Kubernetes manifest deploy/kubernetes/reproduce-job.yaml: an Indexed Job of N shards (2 cores / 4 GiB), a shared volume, a suspended merge Job", () => {
  const docs = parseAllDocuments(fs.readFileSync(path.join(ROOT, "deploy", "kubernetes", "reproduce-job.yaml"), "utf8"), { strict: true, uniqueKeys: true });
  for (const d of docs) assert.deepEqual(d.errors, [], "valid YAML");
  const objs = docs.map((d) => d.toJS() as Obj);
  assert.deepEqual(objs.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`), ["v1 PersistentVolumeClaim fmnist-results", "batch/v1 Job fmnist-reproduce", "batch/v1 Job fmnist-merge"]);
  const [pvc, job, mergeJob] = objs;
  for (const o of objs) {
    onlyKeys(o, ["apiVersion", "kind", "metadata", "spec"], o.metadata.name);
    assert.match(o.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "DNS-1123 name");
  }
  assert.deepEqual(pvc.spec.accessModes, ["ReadWriteMany"], "every shard pod writes to the same volume");
  const jobSpecKeys = ["completionMode", "completions", "parallelism", "backoffLimit", "backoffLimitPerIndex", "maxFailedIndexes", "ttlSecondsAfterFinished", "template", "suspend", "activeDeadlineSeconds"];
  for (const j of [job, mergeJob]) {
    onlyKeys(j.spec, jobSpecKeys, `${j.metadata.name} spec`);
    const pod = j.spec.template.spec as Obj;
    onlyKeys(pod, ["restartPolicy", "securityContext", "containers", "volumes"], `${j.metadata.name} pod`);
    assert.ok(["Never", "OnFailure"].includes(pod.restartPolicy), "a Job's pods do not restart Always");
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(pod.containers.length, 1);
    const c = pod.containers[0] as Obj;
    onlyKeys(c, ["name", "image", "imagePullPolicy", "command", "args", "env", "resources", "securityContext", "volumeMounts"], `${j.metadata.name} container`);
    assert.deepEqual(c.resources, { requests: { cpu: "2", memory: "4Gi" }, limits: { cpu: "2", memory: "4Gi" } });
    assert.equal(c.volumeMounts[0].name, pod.volumes[0].name);
    assert.equal(pod.volumes[0].persistentVolumeClaim.claimName, pvc.metadata.name);
    assert.equal(j.spec.template.metadata.labels["app.kubernetes.io/name"], "fmnist-reproduce");
  }
  // The Indexed Job: completions = parallelism = N = the runner's --shard-count; the index from the annotation.
  assert.equal(job.spec.completionMode, "Indexed");
  assert.equal(job.spec.completions, job.spec.parallelism);
  const c = job.spec.template.spec.containers[0] as Obj;
  const env = c.env.find((e: Obj) => e.name === "JOB_COMPLETION_INDEX");
  assert.equal(env.valueFrom.fieldRef.fieldPath, "metadata.annotations['batch.kubernetes.io/job-completion-index']");
  const args = (c.args as string[]).map((a) => a.replace("$(JOB_COMPLETION_INDEX)", "3"));
  const o = parseArgs(args, {}, ROOT);
  assert.equal(Number(o.shardCount), job.spec.completions, "--shard-count matches completions");
  assert.deepEqual(resolveShard(o.shard, o.shardCount, { JOB_COMPLETION_INDEX: "3" }), { index: 4, count: job.spec.completions });
  assert.equal(o.overrides.FMNIST_ARTIFACTS_DIR, "/results/shard-3", "each shard its own folder on the shared volume");
  // The merge Job waits (suspended) and merges every shard folder, then builds the report.
  assert.equal(mergeJob.spec.suspend, true);
  const script = (mergeJob.spec.template.spec.containers[0].args as string[]).join(" ");
  assert.match(script, /scripts\/merge\.ts --out \/results\/merged \/results\/shard-\*/);
  assert.match(script, /scripts\/report\.ts --profile full --artifacts \/results\/merged/);
});

test("Dockerfile and .dockerignore (checked as text; no Docker engine here, the image is not built)", () => {
  const lines = fs
    .readFileSync(path.join(ROOT, "Dockerfile"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const instr = lines.map((l) => l.split(/\s+/)[0]);
  assert.ok(instr.every((i) => /^[A-Z]+$/.test(i) || lines[instr.indexOf(i)].startsWith("FMNIST") || /^[A-Z_]+=/.test(i)), "instructions only");
  assert.equal(instr.filter((i) => i === "FROM").length, 1);
  assert.match(lines[0], /^FROM node:20(\.\d+)*-(bookworm-)?slim$/, "Node 20 slim base");
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const user = lines.filter((l) => l.startsWith("USER "));
  assert.ok(user.length > 0 && user.every((u) => !/^USER\s+(root|0)(:|$)/.test(u)), "runs as a non-root user");
  assert.ok(at(/^USER /) < at(/^RUN npm ci/), "npm ci runs as that user");
  assert.ok(at(/^COPY .*package-lock\.json/) < at(/^RUN npm ci/), "npm ci from the lockfile, copied first");
  assert.ok(at(/^RUN npm ci\b/) >= 0 && at(/npm install/) < 0, "npm ci, never npm install");
  assert.ok(at(/^COPY .* \. \.$|^COPY --chown=node:node \. \.$/) >= 0, "sources (with data/) copied");
  assert.deepEqual(JSON.parse(lines[at(/^ENTRYPOINT /)].slice("ENTRYPOINT ".length)), ["node", "--import", "tsx", "scripts/run-notebooks.ts"], "entry point = the runner");
  assert.ok(at(/^ENTRYPOINT /) > at(/^USER /));
  const ignore = fs.readFileSync(path.join(ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const p of ["node_modules", ".git", "artifacts", "lib/dist"]) assert.ok(ignore.includes(p), `.dockerignore excludes ${p}`);
  assert.ok(!ignore.some((p) => /^data\b|^\*$|^notebooks\b|^package-lock\.json$/.test(p)), "data, notebooks and the lockfile stay in the context");
  assert.ok(fs.existsSync(path.join(ROOT, "data", "fashion-mnist", "SHA256SUMS")), "the data baked in are in the repository");
});
