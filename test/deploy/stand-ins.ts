import { CloudFrontClient, CreateInvalidationCommand } from "@aws-sdk/client-cloudfront";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach } from "vitest";
import { useLocalS3 } from "../assets/s3-server.js";
import { createFakeClock, type FakeClock } from "../helpers/context.js";
import { fakeCloudFormation } from "./fake-cloudformation.js";

/** STS and CloudFront, mocked (no emulator covers what a deploy asks of them). */
function mockedClients() {
  return { sts: mockClient(STSClient), cloudFront: mockClient(CloudFrontClient) };
}

export interface DeployStandIns extends ReturnType<typeof mockedClients> {
  s3: ReturnType<typeof useLocalS3>;
  /** Made anew before each test, as is `cfn`. */
  clock: FakeClock;
  cfn: ReturnType<typeof fakeCloudFormation>;
}

/**
 * The AWS a deploy test talks to, fresh before each test: STS (an account) and CloudFront (its
 * invalidations) mocked, the fake CloudFormation on a fake clock (with lamp's bootstrap stack when
 * asked), and the artifacts bucket and `buckets` on the local S3-compatible server. Call it at a
 * file's top level, before the file's own beforeEach (hooks run in the order they are added).
 */
export function deployStandIns(options: { artifactsBucket: string; buckets: string[]; bootstrap?: boolean }): DeployStandIns {
  const standIns: DeployStandIns = {
    ...mockedClients(),
    s3: useLocalS3([options.artifactsBucket, ...options.buckets]),
    clock: createFakeClock(),
    cfn: undefined as unknown as ReturnType<typeof fakeCloudFormation>,
  };
  const { sts, cloudFront } = standIns;
  beforeEach(() => {
    standIns.clock = createFakeClock();
    standIns.cfn?.mock.restore();
    standIns.cfn = fakeCloudFormation(standIns.clock, { artifactsBucket: options.artifactsBucket });
    if (options.bootstrap) standIns.cfn.addBootstrap();
    sts.reset();
    sts.on(GetCallerIdentityCommand).resolves({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/dev" });
    cloudFront.reset();
    cloudFront.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: "I1", Status: "InProgress", CreateTime: new Date(), InvalidationBatch: undefined } });
  });
  afterAll(() => {
    sts.restore();
    cloudFront.restore();
    standIns.cfn?.mock.restore();
  });
  return standIns;
}
