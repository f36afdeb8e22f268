import { S3Client } from "@aws-sdk/client-s3";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { describe, expect, it } from "vitest";
import { awsSettingsFrom, clientConfig, createAwsClients } from "../../src/core/aws.js";
import { describeAwsError } from "../../src/core/aws-errors.js";

describe("AWS settings", () => {
  it("takes flags over environment variables", () => {
    const env = { HOME: "/home/u", AWS_PROFILE: "env-profile", AWS_REGION: "eu-west-1", AWS_ENDPOINT_URL: "http://env:4566" };
    const fromEnvironment = { variable: "AWS_REGION", value: "eu-west-1" };
    expect(awsSettingsFrom({}, env)).toEqual({ profile: "env-profile", environmentRegion: fromEnvironment, configFile: "/home/u/.aws/config", endpointUrl: "http://env:4566" });
    expect(awsSettingsFrom({ profile: "p", region: "us-east-2", endpointUrl: "http://flag:9000" }, env)).toEqual({
      profile: "p",
      region: "us-east-2",
      environmentRegion: fromEnvironment,
      configFile: "/home/u/.aws/config",
      endpointUrl: "http://flag:9000",
    });
    expect(awsSettingsFrom({}, { AWS_DEFAULT_REGION: "ap-south-1" }).environmentRegion).toEqual({ variable: "AWS_DEFAULT_REGION", value: "ap-south-1" });
    expect(awsSettingsFrom({}, { AWS_CONFIG_FILE: "/etc/aws" }).configFile).toBe("/etc/aws");
  });

  it("uses path-style S3 and only-when-required checksums behind an endpoint, and plain config otherwise", () => {
    // S3 moves data (uploads keep 30 s of silence per attempt); CloudFormation answers at once (5 s).
    const bounded = { maxAttempts: 3, requestHandler: { connectionTimeout: 10_000, socketTimeout: 30_000 } };
    const controlPlane = { maxAttempts: 3, requestHandler: { connectionTimeout: 10_000, socketTimeout: 5_000 } };
    expect(clientConfig("S3Client", { endpointUrl: "http://127.0.0.1:9000" }, { region: "eu-west-1" })).toEqual({
      ...bounded,
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:9000",
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    expect(clientConfig("CloudFormationClient", { endpointUrl: "http://127.0.0.1:4566" })).toEqual({ ...controlPlane, endpoint: "http://127.0.0.1:4566" });
    expect(clientConfig("S3Client", { profile: "dev" }, { region: "eu-west-1" })).toEqual({ ...bounded, region: "eu-west-1", profile: "dev" });
    expect(clientConfig("S3Client", { timeoutMs: 500 }).requestHandler).toEqual({ connectionTimeout: 500, socketTimeout: 500 });
  });

  it("gives a long call (Lambda's synchronous Invoke) the silence it asks for, above LAMP_AWS_TIMEOUT_MS, and one attempt only", () => {
    expect(clientConfig("LambdaClient", { timeoutMs: 1000 }, { region: "eu-west-1", longCallMs: 960_000 })).toMatchObject({
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 1000, socketTimeout: 960_000 },
    });
    expect(clientConfig("LambdaClient", {}, { region: "eu-west-1" })).toMatchObject({ maxAttempts: 3, requestHandler: { socketTimeout: 5_000 } });
  });

  it("lets --region beat the project's region", () => {
    expect(clientConfig("S3Client", { region: "us-west-2" }, { region: "eu-west-1" }).region).toBe("us-west-2");
  });

  it("keeps a pinned region whatever --region says (CloudFront's certificates live in us-east-1), with the endpoint still honoured", () => {
    expect(clientConfig("ACMClient", { region: "eu-west-1", endpointUrl: "http://127.0.0.1:4566" }, { region: "eu-west-1", pinnedRegion: "us-east-1" })).toMatchObject({
      region: "us-east-1",
      endpoint: "http://127.0.0.1:4566",
    });
  });

  it("builds real SDK clients that resolve the endpoint and path style, and reuses them", async () => {
    const clients = createAwsClients({ endpointUrl: "http://127.0.0.1:9000" });
    const s3 = clients.client(S3Client, { region: "eu-west-1" });
    expect(clients.client(S3Client, { region: "eu-west-1" })).toBe(s3);
    expect(clients.client(S3Client, { region: "us-east-1" })).not.toBe(s3);
    expect(s3.config.forcePathStyle).toBe(true);
    expect(await s3.config.region()).toBe("eu-west-1");
    const endpoint = await s3.config.endpoint?.();
    expect(endpoint?.hostname).toBe("127.0.0.1");
    const cloudformation = clients.client(CloudFormationClient, { region: "eu-west-1" });
    expect((await cloudformation.config.endpoint?.())?.port).toBe(9000);
  });
});

describe("AWS errors", () => {
  it("turns missing credentials into a line naming what was tried", () => {
    const error = Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" });
    expect(describeAwsError(error, { profile: "work" })).toMatchObject({ code: "credentials", message: expect.stringMatching(/profile "work"/) });
    expect(describeAwsError(error)?.message).toMatch(/AWS_ACCESS_KEY_ID.*AWS_PROFILE/);
  });

  it("names the endpoint that could not be reached", () => {
    const error = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    expect(describeAwsError(error, { endpointUrl: "http://127.0.0.1:4566" })?.message).toBe("Could not reach AWS at http://127.0.0.1:4566 (ECONNREFUSED).");
  });

  it("leaves errors that are not AWS's alone", () => {
    expect(describeAwsError(new TypeError("x is undefined"))).toBeUndefined();
  });
});
