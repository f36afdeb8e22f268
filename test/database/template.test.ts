import { describe, expect, it } from "vitest";
import { defaultDatabaseConfig, type DatabaseConfig } from "../../src/project/config.js";
import { applyDatabase, auroraEngineVersion, DatabaseOutput } from "../../src/database/apply-database.js";
import { packageTemplate, serializeTemplate } from "../../src/deploy/deployable-template.js";
import { parseTemplate, type Template } from "../../src/project/sam-template.js";
import { planProject } from "../../src/scaffold/init.js";

async function initTemplate(): Promise<Template> {
  const { files } = await planProject({ target: "/unused", name: "shop", region: "eu-west-1", php: "8.4", arch: "arm64", memory: "1024", force: false });
  return parseTemplate(files.find((file) => file.path === "template.yaml")!.content.toString("utf8"));
}

const database = (overrides: Partial<DatabaseConfig> = {}) => defaultDatabaseConfig("shop", overrides);
const withDatabase = async (overrides: Partial<DatabaseConfig> = {}, environment: Record<string, string> = {}) =>
  applyDatabase(await initTemplate(), { database: database(overrides), environment });
const resources = (template: Template) => template.Resources as Record<string, any>;
const secretRef = (field: string) => ({ "Fn::Sub": `{{resolve:secretsmanager:\${DatabaseSecret}:SecretString:${field}}}` });

describe("applyDatabase: Aurora MySQL Serverless v2 from lamp.json's database", () => {
  it("without a database section, returns the template untouched", async () => {
    const template = await initTemplate();
    expect(applyDatabase(template, { environment: {} })).toBe(template);
  });

  it("does not change the template it is given", async () => {
    const template = await initTemplate();
    const before = structuredClone(template);
    applyDatabase(template, { database: database(), environment: {} });
    expect(template).toEqual(before);
  });

  it("a serverless v2 cluster on Aurora MySQL 3.08 that scales to 0 ACU and pauses after autoPause seconds", async () => {
    const template = await withDatabase({ maxCapacity: 4, autoPause: 900 });
    const cluster = resources(template).DatabaseCluster;
    expect(cluster.Type).toBe("AWS::RDS::DBCluster");
    expect(cluster.Properties.Engine).toBe("aurora-mysql");
    expect(cluster.Properties.EngineVersion).toBe("8.0.mysql_aurora.3.08.0");
    expect(auroraEngineVersion.split(".").slice(-3).map(Number)).toEqual([3, 8, 0]);
    expect(cluster.Properties.DatabaseName).toBe("shop");
    expect(cluster.Properties.ServerlessV2ScalingConfiguration).toEqual({ MinCapacity: 0, MaxCapacity: 4, SecondsUntilAutoPause: 900 });
    const instance = resources(template).DatabaseInstance;
    expect(instance.Type).toBe("AWS::RDS::DBInstance");
    expect(instance.Properties).toMatchObject({ DBClusterIdentifier: { Ref: "DatabaseCluster" }, DBInstanceClass: "db.serverless", Engine: "aurora-mysql" });
  });

  it("a minimum above 0 never pauses, and says no auto-pause delay", async () => {
    const cluster = resources(await withDatabase({ minCapacity: 0.5 })).DatabaseCluster;
    expect(cluster.Properties.ServerlessV2ScalingConfiguration).toEqual({ MinCapacity: 0.5, MaxCapacity: 2 });
  });

  it("storage encrypted, and TLS required by the cluster's parameter group", async () => {
    const template = await withDatabase();
    const cluster = resources(template).DatabaseCluster;
    expect(cluster.Properties.StorageEncrypted).toBe(true);
    expect(cluster.Properties.DBClusterParameterGroupName).toEqual({ Ref: "DatabaseClusterParameterGroup" });
    const parameters = resources(template).DatabaseClusterParameterGroup;
    expect(parameters.Type).toBe("AWS::RDS::DBClusterParameterGroup");
    expect(parameters.Properties.Family).toBe("aurora-mysql8.0");
    expect(parameters.Properties.Parameters).toEqual({ require_secure_transport: "ON" });
  });

  it("keeps a final snapshot when the cluster is deleted or replaced, and keeps the secret that opens it", async () => {
    const template = await withDatabase();
    expect(resources(template).DatabaseCluster).toMatchObject({ DeletionPolicy: "Snapshot", UpdateReplacePolicy: "Snapshot" });
    expect(resources(template).DatabaseSecret).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
    expect(resources(template).DatabaseCluster.Properties.BackupRetentionPeriod).toBe(7);
  });

  it("finalSnapshot: false (a preview stage's setting) deletes the cluster and its secret with the stack, leaving nothing behind", async () => {
    const template = await withDatabase({ finalSnapshot: false });
    expect(resources(template).DatabaseCluster).toMatchObject({ DeletionPolicy: "Delete", UpdateReplacePolicy: "Delete" });
    expect(resources(template).DatabaseSecret.DeletionPolicy).toBeUndefined();
  });

  it("the password is generated into a stack-owned secret, reaches the cluster and function only as a dynamic reference, and is never in the template", async () => {
    const template = await withDatabase();
    const secret = resources(template).DatabaseSecret;
    expect(secret.Type).toBe("AWS::SecretsManager::Secret");
    expect(secret.Properties.GenerateSecretString).toMatchObject({ SecretStringTemplate: '{"username":"lamp"}', GenerateStringKey: "password", ExcludePunctuation: true });
    expect(secret.Properties.GenerateSecretString.PasswordLength).toBeGreaterThanOrEqual(32);
    const cluster = resources(template).DatabaseCluster.Properties;
    expect(cluster.MasterUsername).toEqual(secretRef("username"));
    expect(cluster.MasterUserPassword).toEqual(secretRef("password"));
    // Not RDS's managed secret, which rotates every 7 days under a deployed function.
    expect(cluster.ManageMasterUserPassword).toBeUndefined();
    const text = serializeTemplate(template);
    expect(text).not.toMatch(/"(Master)?User(Password)?"\s*:\s*"[^{]/);
    expect(text).not.toMatch(/"password"\s*:/i);
    for (const output of Object.values(template.Outputs as Record<string, any>)) expect(JSON.stringify(output.Value)).not.toContain("resolve:secretsmanager");
  });

  it("gives the function DB_HOST, DB_PORT, DB_DATABASE, DB_USERNAME, DB_PASSWORD and DATABASE_URL, and they survive packaging", async () => {
    const template = await withDatabase();
    const packaged = packageTemplate(template, { handler: "public/index.php", environment: { APP_ENV: "prod" }, code: { bucket: "b", key: "k" } });
    const variables = resources(packaged).WebFunction.Properties.Environment.Variables;
    expect(variables).toMatchObject({
      BREF_RUNTIME: "fpm",
      APP_ENV: "prod",
      DB_HOST: { "Fn::GetAtt": ["DatabaseCluster", "Endpoint.Address"] },
      DB_PORT: { "Fn::GetAtt": ["DatabaseCluster", "Endpoint.Port"] },
      DB_DATABASE: "shop",
      DB_USERNAME: "lamp",
      DB_PASSWORD: secretRef("password"),
      DATABASE_URL: {
        "Fn::Sub":
          "mysql://lamp:{{resolve:secretsmanager:${DatabaseSecret}:SecretString:password}}@${DatabaseCluster.Endpoint.Address}:${DatabaseCluster.Endpoint.Port}/shop?serverVersion=8.0.39&charset=utf8mb4",
      },
    });
  });

  it("gives the function MYSQL_ATTR_SSL_CA, the RDS CA bundle in the package, so Laravel's default config verifies Aurora's TLS", async () => {
    const packaged = packageTemplate(await withDatabase(), { handler: "public/index.php", environment: {}, code: { bucket: "b", key: "k" } });
    // CodeUri is the project, unpacked in /var/task; the bundle is php/rds-ca-bundle.pem in it.
    expect(resources(packaged).WebFunction.Properties.CodeUri).toEqual({ Bucket: "b", Key: "k" });
    expect(resources(packaged).WebFunction.Properties.Environment.Variables.MYSQL_ATTR_SSL_CA).toBe("/var/task/php/rds-ca-bundle.pem");
    await expect(withDatabase({}, { MYSQL_ATTR_SSL_CA: "/tmp/ca.pem" })).rejects.toThrow(/environment\.MYSQL_ATTR_SSL_CA is set, and so does lamp\.json's database/);
  });

  it("public (the default): a VPC of its own with an internet gateway, the cluster publicly accessible on 3306, the function outside any VPC", async () => {
    const template = await withDatabase();
    const r = resources(template);
    expect(r.DatabaseInstance.Properties.PubliclyAccessible).toBe(true);
    // Created only once the internet gateway is attached and routed: RDS checks that for a public instance.
    expect(r.DatabaseInstance.DependsOn).toBe("DatabaseInternetRoute");
    expect(r.DatabaseInternetRoute.DependsOn).toBe("DatabaseInternetGatewayAttachment");
    expect(r.DatabaseVpc.Properties).toMatchObject({ EnableDnsSupport: true, EnableDnsHostnames: true });
    expect(r.DatabaseInternetRoute.Properties).toEqual({ RouteTableId: { Ref: "DatabaseRouteTable" }, DestinationCidrBlock: "0.0.0.0/0", GatewayId: { Ref: "DatabaseInternetGateway" } });
    expect(r.DatabaseSecurityGroup.Properties.SecurityGroupIngress).toEqual([expect.objectContaining({ IpProtocol: "tcp", FromPort: 3306, ToPort: 3306, CidrIp: "0.0.0.0/0" })]);
    expect(r.DatabaseSubnetGroup.Properties.SubnetIds).toEqual([{ Ref: "DatabaseSubnetA" }, { Ref: "DatabaseSubnetB" }]);
    expect(r.DatabaseSubnetA.Properties.AvailabilityZone).not.toEqual(r.DatabaseSubnetB.Properties.AvailabilityZone);
    expect(r.WebFunction.Properties.VpcConfig).toBeUndefined();
    // No NAT gateway, ever: ~$32 a month.
    expect(Object.values(r).some((resource: any) => resource.Type === "AWS::EC2::NatGateway")).toBe(false);
  });

  it("private: isolated subnets with no route out, the free S3 gateway endpoint, the function inside, MySQL open to the function only", async () => {
    const template = await withDatabase({ network: "private" });
    const r = resources(template);
    expect(r.DatabaseInstance.Properties.PubliclyAccessible).toBe(false);
    expect(r.DatabaseInstance.DependsOn).toBeUndefined();
    expect(r.DatabaseInternetGateway).toBeUndefined();
    expect(r.DatabaseInternetRoute).toBeUndefined();
    expect(Object.values(r).filter((resource: any) => resource.Type === "AWS::EC2::Route")).toEqual([]);
    expect(r.DatabaseS3Endpoint.Properties).toMatchObject({ VpcEndpointType: "Gateway", ServiceName: { "Fn::Sub": "com.amazonaws.${AWS::Region}.s3" }, RouteTableIds: [{ Ref: "DatabaseRouteTable" }] });
    expect(r.WebFunction.Properties.VpcConfig).toEqual({
      SecurityGroupIds: [{ Ref: "DatabaseFunctionSecurityGroup" }],
      SubnetIds: [{ Ref: "DatabaseSubnetA" }, { Ref: "DatabaseSubnetB" }],
    });
    expect(r.DatabaseSecurityGroup.Properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ FromPort: 3306, ToPort: 3306, SourceSecurityGroupId: { Ref: "DatabaseFunctionSecurityGroup" } }),
    ]);
    expect(JSON.stringify(r.DatabaseSecurityGroup)).not.toContain("0.0.0.0/0");
  });

  it("outputs what lamp info, destroy and db read: endpoint, cluster, secret ARN, name, network", async () => {
    const outputs = (await withDatabase()).Outputs as Record<string, any>;
    expect(outputs[DatabaseOutput.endpoint].Value).toEqual({ "Fn::GetAtt": ["DatabaseCluster", "Endpoint.Address"] });
    expect(outputs[DatabaseOutput.cluster].Value).toEqual({ Ref: "DatabaseCluster" });
    expect(outputs[DatabaseOutput.secret].Value).toEqual({ Ref: "DatabaseSecret" });
    expect(outputs[DatabaseOutput.name].Value).toBe("shop");
    expect(outputs[DatabaseOutput.network].Value).toBe("public");
  });

  it("refuses, never overwrites, what the user already defined", async () => {
    const template = await initTemplate();
    template.Resources!.DatabaseCluster = { Type: "AWS::RDS::DBCluster", Properties: {} };
    expect(() => applyDatabase(template, { database: database(), environment: {} })).toThrow(expect.objectContaining({ code: "config", message: "template.yaml declares DatabaseCluster, a logical id lamp.json's database adds." }));

    const withVariable = await initTemplate();
    (resources(withVariable).WebFunction.Properties.Environment.Variables as Record<string, string>).DB_HOST = "db.example.com";
    expect(() => applyDatabase(withVariable, { database: database(), environment: {} })).toThrow(/WebFunction sets the variable DB_HOST, and so does lamp\.json's database/);

    await expect(withDatabase({}, { DATABASE_URL: "mysql://x" })).rejects.toThrow(/lamp\.json: environment\.DATABASE_URL is set, and so does lamp\.json's database/);

    const withVpc = await initTemplate();
    resources(withVpc).WebFunction.Properties.VpcConfig = { SubnetIds: ["subnet-1"] };
    expect(() => applyDatabase(withVpc, { database: database({ network: "private" }), environment: {} })).toThrow(/already has a VpcConfig/);
  });

  it("refuses a capacity range upside down", async () => {
    await expect(withDatabase({ minCapacity: 4, maxCapacity: 2 })).rejects.toThrow(/database\.maxCapacity \(2\) is below database\.minCapacity \(4\)/);
  });

  it.each(["public", "private"] as const)("every security group and rule description EC2 would accept (%s network): no apostrophe, at most 255 characters", async (network) => {
    // EC2's documented characters for GroupDescription and rule descriptions (the old text had an apostrophe: CREATE_FAILED).
    const allowed = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]{0,255}$/;
    const descriptions = Object.values(resources(await withDatabase({ network })))
      .filter((resource) => resource.Type === "AWS::EC2::SecurityGroup")
      .flatMap((resource) => [resource.Properties.GroupDescription, ...(resource.Properties.SecurityGroupIngress ?? []).map((rule: any) => rule.Description)]);
    expect(descriptions.length).toBeGreaterThan(network === "public" ? 1 : 2);
    for (const description of descriptions) expect(description).toMatch(allowed);
  });
});
