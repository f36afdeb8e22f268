import { DescribeDBClustersCommand, RDSClient } from "@aws-sdk/client-rds";
import type { Stack } from "@aws-sdk/client-cloudformation";
import type { Context } from "../core/context.js";
import { DatabaseOutput } from "./apply-database.js";

/** What the stack's outputs say about its database; undefined for a stack without one. */
export interface DeployedDatabase {
  clusterId: string;
  endpoint?: string;
  port?: string;
  name?: string;
  network?: string;
  secretArn?: string;
}

export function deployedDatabase(stack: Stack): DeployedDatabase | undefined {
  const byKey = new Map((stack.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  const clusterId = byKey.get(DatabaseOutput.cluster);
  if (!clusterId) return undefined;
  return {
    clusterId,
    endpoint: byKey.get(DatabaseOutput.endpoint),
    port: byKey.get(DatabaseOutput.port),
    name: byKey.get(DatabaseOutput.name),
    network: byKey.get(DatabaseOutput.network),
    secretArn: byKey.get(DatabaseOutput.secret),
  };
}

export interface DatabaseStatus extends DeployedDatabase {
  /** RDS's cluster status: available, creating, modifying, ... */
  clusterStatus: string;
  /**
   * What a user wants to know: `paused` (0 ACU, no compute billed; the next connection resumes it in
   * ~15 s), `available`, or RDS's status while it is not available. `available` when the capacity
   * metric cannot be read.
   */
  state: string;
  minCapacity?: number;
  maxCapacity?: number;
  /** The writer's current ACUs (CloudWatch's ServerlessDatabaseCapacity), when known. */
  currentCapacity?: number;
  autoPauseSeconds?: number;
}

/**
 * The writer's latest capacity in ACUs: RDS reports a paused Serverless v2 instance as available, only
 * its capacity metric falls to 0. Undefined when CloudWatch has no recent point or may not be read.
 */
async function writerCapacity(ctx: Context, region: string, instanceId: string): Promise<number | undefined> {
  try {
    // Loaded only for a stack with a database: lamp info without one never needs it.
    const { CloudWatchClient, GetMetricDataCommand } = await import("@aws-sdk/client-cloudwatch");
    const cloudwatch = ctx.aws.client(CloudWatchClient, { region });
    const now = ctx.clock.now();
    const { MetricDataResults } = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(now - 10 * 60_000),
        EndTime: new Date(now),
        ScanBy: "TimestampDescending",
        MetricDataQueries: [
          {
            Id: "capacity",
            MetricStat: {
              Metric: { Namespace: "AWS/RDS", MetricName: "ServerlessDatabaseCapacity", Dimensions: [{ Name: "DBInstanceIdentifier", Value: instanceId }] },
              Period: 60,
              Stat: "Average",
            },
          },
        ],
      }),
      { abortSignal: ctx.signal },
    );
    return MetricDataResults?.[0]?.Values?.[0];
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    ctx.ui.debug(`Could not read the database's capacity from CloudWatch: ${(error as Error).message}`);
    return undefined;
  }
}

/** The deployed database's state, capacity range and current capacity. */
export async function databaseStatus(ctx: Context, database: DeployedDatabase, region: string): Promise<DatabaseStatus> {
  const rds = ctx.aws.client(RDSClient, { region });
  const { DBClusters } = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: database.clusterId }), { abortSignal: ctx.signal });
  const cluster = DBClusters?.[0];
  const clusterStatus = cluster?.Status ?? "unknown";
  const scaling = cluster?.ServerlessV2ScalingConfiguration;
  const writer = cluster?.DBClusterMembers?.find((member) => member.IsClusterWriter)?.DBInstanceIdentifier;
  const currentCapacity = clusterStatus === "available" && writer ? await writerCapacity(ctx, region, writer) : undefined;
  return {
    ...database,
    endpoint: database.endpoint ?? cluster?.Endpoint,
    clusterStatus,
    state: clusterStatus === "available" && currentCapacity === 0 ? "paused" : clusterStatus,
    minCapacity: scaling?.MinCapacity,
    maxCapacity: scaling?.MaxCapacity,
    currentCapacity,
    autoPauseSeconds: scaling?.SecondsUntilAutoPause,
  };
}

/** `lamp info`'s lines for the database. */
export function formatDatabaseStatus(status: DatabaseStatus): string[] {
  const lines = [`Database   ${status.name ?? "?"} on ${status.endpoint ?? "?"}${status.port ? `:${status.port}` : ""} (Aurora MySQL, ${status.network ?? "public"} network)`];
  let state = status.state;
  if (state === "paused") state = "paused (no compute billed; the next connection resumes it in ~15 s)";
  else if (state === "available" && status.currentCapacity !== undefined) state = `available, ${status.currentCapacity} ACU now`;
  lines.push(`DB status  ${state}`);
  if (status.minCapacity !== undefined && status.maxCapacity !== undefined) {
    const pause = status.minCapacity === 0 && status.autoPauseSeconds ? `, pauses after ${Math.round(status.autoPauseSeconds / 60)} min idle` : "";
    lines.push(`Capacity   ${status.minCapacity}–${status.maxCapacity} ACU${pause}`);
  }
  return lines;
}
