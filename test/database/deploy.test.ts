import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeDBClustersCommand, RDSClient } from "@aws-sdk/client-rds";
import { GetObjectCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Prompter } from "../../src/core/prompt.js";
import { bundledCaBundle } from "../../src/database/ca-bundle.js";
import { deploy } from "../../src/deploy/deploy.js";
import { destroy } from "../../src/deploy/destroy.js";
import { formatStackInfo, stackInfo } from "../../src/deploy/info.js";
import { useLocalS3 } from "../assets/s3-server.js";
import { createFakeClock, createTestContext, type FakeClock, type TestContext } from "../helpers/context.js";
import { fakeCloudFormation, siteOutputs } from "../deploy/fake-cloudformation.js";
import { makeProject, type TestProject } from "../deploy/project.js";

const artifactsBucket = "lamp-artifacts-test";
const sts = mockClient(STSClient);
const rds = mockClient(RDSClient);
const cloudwatch = mockClient(CloudWatchClient);
let clock: FakeClock;
let cfn: ReturnType<typeof fakeCloudFormation>;
let project: TestProject;
const s3 = useLocalS3([artifactsBucket, "shop-assets"]);

const secretArn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:DatabaseSecret-abc-XyZ12";
const databaseOutputs = [
  { OutputKey: "DatabaseEndpoint", OutputValue: "shop-databasecluster-abc.cluster-c1.eu-west-1.rds.amazonaws.com" },
  { OutputKey: "DatabasePort", OutputValue: "3306" },
  { OutputKey: "DatabaseClusterId", OutputValue: "shop-databasecluster-abc" },
  { OutputKey: "DatabaseSecretArn", OutputValue: secretArn },
  { OutputKey: "DatabaseName", OutputValue: "shop" },
  { OutputKey: "DatabaseNetwork", OutputValue: "public" },
];

afterAll(() => {
  for (const mock of [sts, rds, cloudwatch]) mock.restore();
  cfn?.mock.restore();
});
beforeEach(async () => {
  clock = createFakeClock();
  cfn?.mock.restore();
  cfn = fakeCloudFormation(clock, { artifactsBucket });
  for (const mock of [sts, rds, cloudwatch]) mock.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/dev" });
  project = await makeProject();
  const configPath = path.join(project.root, "lamp.json");
  await writeFile(configPath, JSON.stringify({ ...JSON.parse(await readFile(configPath, "utf8")), database: { name: "shop", autoPause: 600 } }));
});
afterEach(async () => {
  await project.remove();
});

const context = (options: { yes?: boolean; prompt?: Prompter; interactive?: boolean } = {}): TestContext =>
  createTestContext({ cwd: project.root, aws: { endpointUrl: s3.server.endpointUrl }, clock, yes: options.yes ?? true, prompt: options.prompt, interactive: options.interactive });

function cluster(status: string) {
  rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: "shop-databasecluster-abc" }).resolves({
    DBClusters: [
      {
        DBClusterIdentifier: "shop-databasecluster-abc",
        Status: status,
        Endpoint: "shop-databasecluster-abc.cluster-c1.eu-west-1.rds.amazonaws.com",
        ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 2, SecondsUntilAutoPause: 600 },
        DBClusterMembers: [{ DBInstanceIdentifier: "shop-databaseinstance-xyz", IsClusterWriter: true }],
      },
    ],
  });
}

describe("lamp deploy with lamp.json's database", () => {
  it("sends CloudFormation the Aurora cluster, its secret and the function's variables, with no password in the template", async () => {
    const ctx = context();
    const result = await deploy({ root: project.root, assets: false, force: false }, ctx);
    expect(result.status).toBe("deployed");
    const sent = JSON.parse(cfn.created.at(-1)!.TemplateBody!);
    expect(sent.Resources.DatabaseCluster).toMatchObject({ Type: "AWS::RDS::DBCluster", DeletionPolicy: "Snapshot", UpdateReplacePolicy: "Snapshot" });
    expect(sent.Resources.DatabaseCluster.Properties.ServerlessV2ScalingConfiguration).toEqual({ MinCapacity: 0, MaxCapacity: 2, SecondsUntilAutoPause: 600 });
    const variables = sent.Resources.WebFunction.Properties.Environment.Variables;
    expect(Object.keys(variables)).toEqual(expect.arrayContaining(["DB_HOST", "DB_PORT", "DB_DATABASE", "DB_USERNAME", "DB_PASSWORD", "DATABASE_URL", "BREF_RUNTIME"]));
    expect(JSON.stringify(variables.DB_PASSWORD)).toContain("{{resolve:secretsmanager:");
    // Nothing lamp printed holds a secret reference or a password either.
    expect(ctx.ui.texts().join("\n")).not.toMatch(/resolve:secretsmanager|DB_PASSWORD/);
  });

  it("packages the RDS CA bundle MYSQL_ATTR_SSL_CA names, adding it to a project that gained its database after init", async () => {
    const bundle = path.join(project.root, "php", "rds-ca-bundle.pem");
    expect(existsSync(bundle)).toBe(false);
    const ctx = context();
    const result = await deploy({ root: project.root, assets: false, force: false }, ctx);
    expect(ctx.ui.texts("info").join("\n")).toContain("Added php/rds-ca-bundle.pem");
    expect(await readFile(bundle)).toEqual(await bundledCaBundle());
    const sent = JSON.parse(cfn.created.at(-1)!.TemplateBody!);
    expect(sent.Resources.WebFunction.Properties.Environment.Variables.MYSQL_ATTR_SSL_CA).toBe("/var/task/php/rds-ca-bundle.pem");
    const object = await s3.raw.send(new GetObjectCommand({ Bucket: artifactsBucket, Key: result.package.key }));
    const zip = Buffer.from(await object.Body!.transformToByteArray());
    // The entry's name, in the zip's central directory (names are stored as they are).
    const central = zip.subarray(zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])));
    expect(central.includes(Buffer.from("php/rds-ca-bundle.pem"))).toBe(true);
  });
});

describe("lamp deploy removing the database", () => {
  it("warns and asks as for any data loss, and says the final snapshot and the secret are kept", async () => {
    cfn.addBootstrap();
    cfn.addStack("shop", "UPDATE_COMPLETE", [...siteOutputs("shop"), ...databaseOutputs]);
    cfn.nextChangeSet({
      changes: [
        { Type: "Resource", ResourceChange: { Action: "Remove", LogicalResourceId: "DatabaseCluster", ResourceType: "AWS::RDS::DBCluster" } },
        { Type: "Resource", ResourceChange: { Action: "Remove", LogicalResourceId: "DatabaseSecret", ResourceType: "AWS::SecretsManager::Secret" } },
      ],
    });
    const ctx = context({ yes: true });
    await deploy({ root: project.root, assets: false, force: false }, ctx);
    expect(ctx.ui.texts("warn").join("\n")).toContain("This deploy deletes data: DatabaseCluster (AWS::RDS::DBCluster) removed");
    expect(ctx.ui.texts("info")).toContain(
      "Kept: DatabaseCluster leaves a final snapshot (RDS → Snapshots) to restore from; DatabaseSecret stays in Secrets Manager with the password.",
    );
  });
});

describe("lamp info with a database", () => {
  it("shows the endpoint, paused when the writer is at 0 ACU, and the capacity range", async () => {
    cfn.addStack("shop", "UPDATE_COMPLETE", [...siteOutputs("shop"), ...databaseOutputs]);
    cluster("available");
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: "capacity", Values: [0, 0.5], Timestamps: [new Date(), new Date()] }] });
    const info = await stackInfo(project.root, context());
    expect(info).toMatchObject({ exists: true, database: { state: "paused", clusterStatus: "available", minCapacity: 0, maxCapacity: 2, currentCapacity: 0 } });
    const lines = formatStackInfo(info, clock.now());
    expect(lines).toContain("Database   shop on shop-databasecluster-abc.cluster-c1.eu-west-1.rds.amazonaws.com:3306 (Aurora MySQL, public network)");
    expect(lines).toContain("DB status  paused (no compute billed; the next connection resumes it in ~15 s)");
    expect(lines).toContain("Capacity   0–2 ACU, pauses after 10 min idle");
    const query = cloudwatch.commandCalls(GetMetricDataCommand)[0]!.args[0].input.MetricDataQueries![0]!;
    expect(query.MetricStat!.Metric).toMatchObject({ Namespace: "AWS/RDS", MetricName: "ServerlessDatabaseCapacity", Dimensions: [{ Name: "DBInstanceIdentifier", Value: "shop-databaseinstance-xyz" }] });
  });

  it("available with its current capacity when running; RDS's own status while it is not available", async () => {
    cfn.addStack("shop", "UPDATE_COMPLETE", [...siteOutputs("shop"), ...databaseOutputs]);
    cluster("available");
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: "capacity", Values: [1.5] }] });
    expect(formatStackInfo(await stackInfo(project.root, context()), clock.now())).toContain("DB status  available, 1.5 ACU now");

    rds.reset();
    cluster("modifying");
    const modifying = await stackInfo(project.root, context());
    expect(formatStackInfo(modifying, clock.now())).toContain("DB status  modifying");
  });

  it("without CloudWatch permission, still shows the cluster's status", async () => {
    cfn.addStack("shop", "UPDATE_COMPLETE", [...siteOutputs("shop"), ...databaseOutputs]);
    cluster("available");
    cloudwatch.on(GetMetricDataCommand).rejects(Object.assign(new Error("not authorized to perform cloudwatch:GetMetricData"), { name: "AccessDenied" }));
    const ctx = context();
    expect(formatStackInfo(await stackInfo(project.root, ctx), clock.now())).toContain("DB status  available");
    expect(ctx.ui.texts("debug").join("\n")).toContain("Could not read the database's capacity");
  });
});

describe("lamp destroy with a database", () => {
  it("says, before asking, that a final snapshot and the secret are kept", async () => {
    cfn.addStack("shop", "UPDATE_COMPLETE", [...siteOutputs("shop"), ...databaseOutputs]);
    const s3Mock = mockClient(S3Client);
    s3Mock.on(ListObjectVersionsCommand).resolves({ Versions: [], DeleteMarkers: [], IsTruncated: false });
    try {
      const order: string[] = [];
      const ctx = context({ yes: false, interactive: true });
      const text = vi.fn(async () => {
        order.push(`asked after: ${ctx.ui.texts("info").join(" ")}`);
        return "shop";
      });
      ctx.prompt = { text, confirm: vi.fn(), select: vi.fn() } as unknown as Prompter;
      const result = await destroy({ root: project.root, all: false }, ctx);
      expect(result.status).toBe("deleted");
      expect(result.database).toEqual({ cluster: "shop-databasecluster-abc", finalSnapshot: "kept", secret: secretArn });
      expect(order[0]).toMatch(/The database shop \(cluster shop-databasecluster-abc\) is not lost: CloudFormation keeps a final snapshot/);
      expect(order[0]).toContain(secretArn);
    } finally {
      s3Mock.restore();
    }
  });
});
