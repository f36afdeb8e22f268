import type { StackEvent } from "@aws-sdk/client-cloudformation";
import { describe, expect, it } from "vitest";
import { rootCauses } from "../../src/deploy/events.js";
import { countChanges, formatChange, isNoChangesReason, summarizeChanges } from "../../src/deploy/change-set.js";

const event = (LogicalResourceId: string, ResourceType: string, ResourceStatus: string, ResourceStatusReason?: string): StackEvent =>
  ({ LogicalResourceId, ResourceType, ResourceStatus, ResourceStatusReason }) as StackEvent;

describe("root causes", () => {
  it("keeps the failures that caused the rollback, drops cancellations and the stack's summary", () => {
    const events = [
      event("shop", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
      event("WebFunction", "AWS::Lambda::Function", "CREATE_FAILED", "Resource handler returned message: \"Handler not found\""),
      event("Distribution", "AWS::CloudFront::Distribution", "CREATE_FAILED", "Resource creation cancelled"),
      event("shop", "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS", "The following resource(s) failed to create: [WebFunction, Distribution]."),
      event("shop", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"),
    ];
    expect(rootCauses(events, "shop")).toEqual(["WebFunction (AWS::Lambda::Function): Resource handler returned message: \"Handler not found\""]);
  });

  it("falls back to the stack's own reason when no resource says more", () => {
    const events = [event("shop", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", "Transform AWS::Serverless-2016-10-31 failed")];
    expect(rootCauses(events, "shop")).toEqual(["Transform AWS::Serverless-2016-10-31 failed"]);
  });
});

describe("change summaries", () => {
  it("recognises both of CloudFormation's no-changes wordings and nothing else", () => {
    expect(isNoChangesReason("The submitted information didn't contain changes. Submit different information to create a change set.")).toBe(true);
    expect(isNoChangesReason("No updates are to be performed.")).toBe(true);
    expect(isNoChangesReason("Template format error")).toBe(false);
  });

  it("flags removals and replacements of stateful resources only", () => {
    const changes = summarizeChanges([
      { ResourceChange: { Action: "Remove", LogicalResourceId: "WebLogGroup", ResourceType: "AWS::Logs::LogGroup" } },
      { ResourceChange: { Action: "Modify", LogicalResourceId: "WebFunction", ResourceType: "AWS::Lambda::Function", Replacement: "True" } },
      { ResourceChange: { Action: "Modify", LogicalResourceId: "AssetsBucket", ResourceType: "AWS::S3::Bucket", Replacement: "Conditional" } },
      { ResourceChange: { Action: "Add", LogicalResourceId: "Queue", ResourceType: "AWS::SQS::Queue" } },
    ]);
    expect(changes.map((change) => [change.logicalId, change.destructive])).toEqual([
      ["WebLogGroup", true],
      ["WebFunction", false],
      ["AssetsBucket", true],
      ["Queue", false],
    ]);
    expect(changes.map(formatChange)).toEqual([
      "  - WebLogGroup AWS::Logs::LogGroup  DATA LOSS",
      "  ~ WebFunction AWS::Lambda::Function (replaced)",
      "  ~ AssetsBucket AWS::S3::Bucket (replaced if needed)  DATA LOSS",
      "  + Queue AWS::SQS::Queue",
    ]);
    expect(countChanges(changes)).toBe("1 to add, 2 to modify (2 replaced), 1 to remove");
  });
});
