/**
 * bench/package: `npm run bench:package`
 *
 * 1. Packaging: lamp's deterministic zip of a generated Laravel-sized tree (~12,000 files, ~60 MB)
 *    next to Info-ZIP's `zip -r -X` of the same tree, in the same run, alternating, median of 3.
 * 2. A no-change deploy: how many AWS calls it makes before the asset sync (target: at most 5,
 *    and no change set), next to a first deploy of the same project.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { buildCodePackage } from "../src/deploy/package.js";
import { deploy } from "../src/deploy/deploy.js";
import { createFakeClock, createTestContext } from "../test/helpers/context.js";
import { fakeCloudFormation } from "../test/deploy/fake-cloudformation.js";
import { makeProject } from "../test/deploy/project.js";
import { generateTree, laravelSized } from "./package-tree.js";

const runs = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function packaging(): Promise<void> {
  if (spawnSync("zip", ["-v"]).status !== 0) {
    console.error("!!! `zip` (Info-ZIP) is not installed: the packaging peer cannot run. Install it with `bash scripts/setup.sh --bench`.");
    process.exitCode = 1;
    return;
  }
  const work = await mkdtemp(path.join(tmpdir(), "lamp-bench-package-"));
  try {
    const tree = path.join(work, "tree");
    const generated = await generateTree(tree, laravelSized);
    console.log(`tree: ${generated.files} files, ${(generated.bytes / 1024 / 1024).toFixed(1)} MB (generated, seeded)`);
    const lampTimes: number[] = [];
    const zipTimes: number[] = [];
    let lampSize = 0;
    let zipSize = 0;
    const hashes = new Set<string>();
    for (let run = 0; run < runs; run += 1) {
      let started = performance.now();
      const result = await buildCodePackage(tree, { assetsDir: "assets", exclude: [] }, path.join(work, `lamp-${run}.zip`));
      lampTimes.push(performance.now() - started);
      lampSize = result.size;
      hashes.add(result.sha256);

      const zipFile = path.join(work, `info-zip-${run}.zip`);
      started = performance.now();
      execFileSync("zip", ["-r", "-X", "-q", zipFile, "."], { cwd: tree });
      zipTimes.push(performance.now() - started);
      zipSize = (await stat(zipFile)).size;
    }
    const lampMs = median(lampTimes);
    const zipMs = median(zipTimes);
    console.log(`packaging (median of ${runs}):`);
    console.log(`  lamp          ${lampMs.toFixed(0).padStart(6)} ms   ${(lampSize / 1024 / 1024).toFixed(1)} MB`);
    console.log(`  zip -r -X     ${zipMs.toFixed(0).padStart(6)} ms   ${(zipSize / 1024 / 1024).toFixed(1)} MB`);
    console.log(`  time ratio lamp/zip: ${(lampMs / zipMs).toFixed(2)}x (target <= 1.00)   size ratio lamp/zip: ${(lampSize / zipSize).toFixed(3)}`);
    console.log(`  deterministic: ${hashes.size === 1 ? "yes, the same sha256 on every run" : `NO, ${hashes.size} different hashes`}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function awsCalls(): Promise<void> {
  const project = await makeProject();
  const clock = createFakeClock();
  const cfn = fakeCloudFormation(clock, { artifactsBucket: "lamp-artifacts-bench" });
  const sts = mockClient(STSClient);
  const s3 = mockClient(S3Client);
  sts.on(GetCallerIdentityCommand).resolves({ Account: "123456789012" });
  s3.on(HeadObjectCommand).rejects(Object.assign(new Error("Not Found"), { name: "NotFound", $metadata: { httpStatusCode: 404 } }));
  s3.on(PutObjectCommand).resolves({});
  const count = () => ({ sts: sts.calls().length, cloudformation: cfn.mock.calls().length, s3: s3.calls().length });
  const reset = () => [sts, s3, cfn.mock].forEach((mock) => mock.resetHistory());
  try {
    const ctx = () => createTestContext({ cwd: project.root, aws: {}, clock, yes: true });
    await deploy({ root: project.root, assets: false, force: false }, ctx());
    const first = count();
    const firstChangeSets = cfn.commandNames().filter((name) => name === "CreateChangeSetCommand").length;
    reset();
    await deploy({ root: project.root, assets: false, force: false }, ctx());
    const again = count();
    const changeSets = cfn.commandNames().filter((name) => name === "CreateChangeSetCommand").length;
    const total = (calls: typeof first) => calls.sts + calls.cloudformation + calls.s3;
    console.log("AWS calls before the asset sync (CloudFormation scripted, polls included):");
    console.log(`  first deploy     ${String(total(first)).padStart(3)}  (STS ${first.sts}, CloudFormation ${first.cloudformation}, S3 ${first.s3}; change sets: ${firstChangeSets})`);
    console.log(`  no-change deploy ${String(total(again)).padStart(3)}  (STS ${again.sts}, CloudFormation ${again.cloudformation}: ${cfn.commandNames().join(", ")}, S3 ${again.s3}; change sets: ${changeSets})`);
    console.log(`  ratio no-change/first: ${(total(again) / total(first)).toFixed(2)}   target: <= 5 calls and no change set -> ${total(again) <= 5 && changeSets === 0 ? "met" : "MISSED"}`);
  } finally {
    sts.restore();
    s3.restore();
    cfn.mock.restore();
    await project.remove();
  }
}

await packaging();
await awsCalls();
