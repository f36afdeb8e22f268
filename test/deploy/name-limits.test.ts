import { describe, expect, it } from "vitest";
import { defaultDatabaseConfig, type LampConfig } from "../../src/project/config.js";
import { loadProject } from "../../src/project/config.js";
import { deployableTemplate } from "../../src/deploy/deployable-template.js";
import { loadExtraLayerTable } from "../../src/project/php-extensions.js";
import { readTemplate, type TemplateValue } from "../../src/project/sam-template.js";
import { makeProject } from "./project.js";

/**
 * Every name and description lamp puts in a template, evaluated for the longest stack name lamp
 * accepts (128 characters) and checked against AWS's documented limits. cfn-lint cannot do this:
 * it does not know the stack name that `${AWS::StackName}` becomes.
 */

const longestStackName = `L${"x".repeat(119)}-longest`;
const stackUuid = "0b7a1f40-1c2d-11ef-9a55-0a1b2c3d4e5f";
/** A generated physical id (a function's name) is at most 64 characters: assume the longest. */
const longestGenerated = "g".repeat(64);

/** The value CloudFormation would produce for a stack of the longest name, or undefined when it cannot be known here. */
function evaluate(value: TemplateValue | undefined): string | undefined {
  if (typeof value === "string") return value;
  if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
  if (value.Ref === "AWS::StackName") return longestStackName;
  const sub = value["Fn::Sub"];
  if (typeof sub === "string") {
    return sub.replace(/\$\{([^}]+)\}/g, (_, name: string) => (name === "AWS::StackName" ? longestStackName : name === "AWS::Region" ? "ap-southeast-2" : longestGenerated));
  }
  const select = value["Fn::Select"];
  if (Array.isArray(select) && JSON.stringify(select[1]) === JSON.stringify({ "Fn::Split": ["/", { Ref: "AWS::StackId" }] })) return stackUuid;
  const join = value["Fn::Join"];
  if (Array.isArray(join) && typeof join[0] === "string" && Array.isArray(join[1])) {
    const parts = join[1].map(evaluate);
    return parts.every((part) => part !== undefined) ? parts.join(join[0]) : undefined;
  }
  return undefined;
}

const ec2Description = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;
interface Limit {
  max: number;
  pattern?: RegExp;
}
/** AWS's documented limits, by resource type and property path (`[]` = every item of a list). */
const limits: Record<string, Record<string, Limit>> = {
  "AWS::EC2::SecurityGroup": { GroupDescription: { max: 255, pattern: ec2Description }, "SecurityGroupIngress[].Description": { max: 255, pattern: ec2Description } },
  "AWS::EC2::VPC": { "Tags[].Value": { max: 256 } },
  "AWS::RDS::DBSubnetGroup": { DBSubnetGroupDescription: { max: 255 } },
  "AWS::RDS::DBClusterParameterGroup": { Description: { max: 255 } },
  "AWS::RDS::DBCluster": { DatabaseName: { max: 64, pattern: /^[A-Za-z][A-Za-z0-9_]*$/ } },
  "AWS::SecretsManager::Secret": { Description: { max: 2048 } },
  "AWS::CloudFront::Function": { Name: { max: 64, pattern: /^[a-zA-Z0-9-_]+$/ }, "FunctionConfig.Comment": { max: 128 } },
  "AWS::CloudFront::OriginAccessControl": { "OriginAccessControlConfig.Name": { max: 64 }, "OriginAccessControlConfig.Description": { max: 256 } },
  "AWS::CloudFront::Distribution": { "DistributionConfig.Comment": { max: 128 } },
  "AWS::Serverless::Function": { Description: { max: 256 } },
  "AWS::Serverless::HttpApi": { StageName: { max: 128 } },
  "AWS::Logs::LogGroup": { LogGroupName: { max: 512 } },
};
/** Properties named like names that are not derived from anything lamp names: AWS generates or the user gives them. */
const notDerived = new Set(["Outputs", "DistributionConfig.Origins[].DomainName", "DistributionConfig.Origins[].OriginCustomHeaders[].HeaderName", "Tags[].Key", "SecretStringTemplate", "ServiceName", "Environment.Variables"]);

/** Every (path, value) under properties whose key looks like a name, description or comment. */
function namedProperties(value: TemplateValue, prefix = ""): [string, TemplateValue][] {
  if (Array.isArray(value)) return value.flatMap((item) => namedProperties(item, `${prefix}[]`));
  if (!value || typeof value !== "object" || Object.keys(value).some((key) => key.startsWith("Fn::") || key === "Ref")) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (notDerived.has(path) || [...notDerived].some((skip) => path.startsWith(`${skip}.`))) return [];
    // A reference to another resource is a name AWS generated, within its limits.
    const generated = Boolean(child && typeof child === "object" && !Array.isArray(child) && ((typeof child.Ref === "string" && !child.Ref.startsWith("AWS::")) || child["Fn::GetAtt"]));
    const here: [string, TemplateValue][] = !generated && (/(Name|Description|Comment)$/.test(key) || path === "Tags[].Value") ? [[path, child]] : [];
    return [...here, ...namedProperties(child, path)];
  });
}

describe("names and descriptions lamp derives from the stack name", () => {
  it("respect AWS's limits for the longest stack name, with every lamp.json capability on", async () => {
    const project = await makeProject({ name: longestStackName });
    try {
      const { config } = await loadProject(project.root);
      const everything: LampConfig = {
        ...config,
        router: true,
        database: defaultDatabaseConfig(longestStackName, { network: "private" }),
        domain: { name: "www.example.com", aliases: ["example.com"] },
      };
      const publicDatabase: LampConfig = { ...everything, database: defaultDatabaseConfig(longestStackName, { network: "public" }) };
      const checked: string[] = [];
      for (const lampConfig of [everything, publicDatabase]) {
        const template = deployableTemplate(await readTemplate(project.root), lampConfig, { bucket: "b", key: "k" }, await loadExtraLayerTable());
        for (const [id, resource] of Object.entries(template.Resources ?? {})) {
          for (const [path, value] of namedProperties((resource.Properties ?? {}) as TemplateValue)) {
            const limit = limits[resource.Type]?.[path];
            expect(limit, `no AWS limit known for ${resource.Type} ${path} (${id}): add it to this test`).toBeDefined();
            const evaluated = evaluate(value);
            expect(evaluated, `${id}.${path} cannot be evaluated here`).toBeDefined();
            expect(evaluated!.length, `${id}.${path} = ${evaluated}`).toBeLessThanOrEqual(limit!.max);
            if (limit!.pattern) expect(evaluated, `${id}.${path}`).toMatch(limit!.pattern);
            checked.push(`${id}.${path}`);
          }
        }
      }
      // The names this test exists for were all reached.
      expect(checked).toEqual(
        expect.arrayContaining([
          "DatabaseSecurityGroup.GroupDescription",
          "DatabaseFunctionSecurityGroup.GroupDescription",
          "ForwardedHostFunction.Name",
          "AssetsOriginAccessControl.OriginAccessControlConfig.Name",
          "Distribution.DistributionConfig.Comment",
          "WebFunction.Description",
          "WebLogGroup.LogGroupName",
          "DatabaseSecret.Description",
          "DatabaseCluster.DatabaseName",
        ]),
      );
    } finally {
      await project.remove();
    }
  });
});
