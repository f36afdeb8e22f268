import type { DatabaseConfig, LampConfig } from "../project/config.js";
import { LampError } from "../core/errors.js";
import { webFunction, type Template, type TemplateResource, type TemplateValue } from "../project/sam-template.js";
import { caBundleVariable, lambdaCaBundlePath } from "./ca-bundle.js";
import { databaseUsername, databaseVariableNames } from "./variables.js";

/** The first Aurora MySQL release that scales to 0 ACU and pauses (Aurora MySQL 3.08, MySQL 8.0.39 compatible). */
export const auroraEngineVersion = "8.0.mysql_aurora.3.08.0";
/** The MySQL version Aurora MySQL 3.08 is compatible with: Doctrine's serverVersion in DATABASE_URL. */
const auroraMysqlVersion = "8.0.39";
const auroraParameterFamily = "aurora-mysql8.0";

/** Logical ids lamp adds for the database; a template that already uses one of them is refused, never overwritten. */
const DatabaseResource = {
  secret: "DatabaseSecret",
  parameterGroup: "DatabaseClusterParameterGroup",
  cluster: "DatabaseCluster",
  instance: "DatabaseInstance",
  subnetGroup: "DatabaseSubnetGroup",
  securityGroup: "DatabaseSecurityGroup",
  vpc: "DatabaseVpc",
  subnetA: "DatabaseSubnetA",
  subnetB: "DatabaseSubnetB",
  routeTable: "DatabaseRouteTable",
  routeA: "DatabaseSubnetARouteTableAssociation",
  routeB: "DatabaseSubnetBRouteTableAssociation",
  internetGateway: "DatabaseInternetGateway",
  gatewayAttachment: "DatabaseInternetGatewayAttachment",
  internetRoute: "DatabaseInternetRoute",
  functionSecurityGroup: "DatabaseFunctionSecurityGroup",
  s3Endpoint: "DatabaseS3Endpoint",
} as const;

/** Outputs lamp adds, read back by `lamp info`, `lamp destroy` and `lamp db --remote`. */
export const DatabaseOutput = {
  endpoint: "DatabaseEndpoint",
  port: "DatabasePort",
  cluster: "DatabaseClusterId",
  secret: "DatabaseSecretArn",
  name: "DatabaseName",
  network: "DatabaseNetwork",
} as const;

const ref = (id: string): TemplateValue => ({ Ref: id });
const getAtt = (id: string, attribute: string): TemplateValue => ({ "Fn::GetAtt": [id, attribute] });
const availabilityZone = (index: number): TemplateValue => ({ "Fn::Select": [index, { "Fn::GetAZs": "" }] });
/** A secret's field, resolved by CloudFormation at deploy time: the template and its outputs hold only the reference. */
const secretField = (field: string): TemplateValue => ({ "Fn::Sub": `{{resolve:secretsmanager:\${${DatabaseResource.secret}}:SecretString:${field}}}` });

function resource(type: string, properties: Record<string, TemplateValue>, extra: Record<string, unknown> = {}): TemplateResource {
  return { Type: type, ...extra, Properties: properties };
}

/**
 * The network both modes need: a VPC of the stack's own in two zones (Aurora wants two), so the user
 * types no ids. `public` adds an internet gateway (the cluster is reachable over TLS with its
 * password; the function stays outside the VPC, so it needs no NAT gateway). `private` has no route
 * out at all, only the free S3 gateway endpoint, and puts the function in the subnets.
 */
function networkResources(network: DatabaseConfig["network"]): Record<string, TemplateResource> {
  const r = DatabaseResource;
  const resources: Record<string, TemplateResource> = {
    [r.vpc]: resource("AWS::EC2::VPC", {
      CidrBlock: "10.72.0.0/16",
      // A publicly accessible cluster's endpoint resolves to its public address only with both on.
      EnableDnsSupport: true,
      EnableDnsHostnames: true,
      Tags: [{ Key: "Name", Value: { "Fn::Sub": "${AWS::StackName}-database" } }],
    }),
    [r.subnetA]: resource("AWS::EC2::Subnet", { VpcId: ref(r.vpc), CidrBlock: "10.72.0.0/20", AvailabilityZone: availabilityZone(0) }),
    [r.subnetB]: resource("AWS::EC2::Subnet", { VpcId: ref(r.vpc), CidrBlock: "10.72.16.0/20", AvailabilityZone: availabilityZone(1) }),
    [r.routeTable]: resource("AWS::EC2::RouteTable", { VpcId: ref(r.vpc) }),
    [r.routeA]: resource("AWS::EC2::SubnetRouteTableAssociation", { SubnetId: ref(r.subnetA), RouteTableId: ref(r.routeTable) }),
    [r.routeB]: resource("AWS::EC2::SubnetRouteTableAssociation", { SubnetId: ref(r.subnetB), RouteTableId: ref(r.routeTable) }),
    [r.subnetGroup]: resource("AWS::RDS::DBSubnetGroup", {
      DBSubnetGroupDescription: { "Fn::Sub": "${AWS::StackName} database subnets" },
      SubnetIds: [ref(r.subnetA), ref(r.subnetB)],
    }),
  };
  if (network === "public") {
    resources[r.internetGateway] = resource("AWS::EC2::InternetGateway", {});
    resources[r.gatewayAttachment] = resource("AWS::EC2::VPCGatewayAttachment", { VpcId: ref(r.vpc), InternetGatewayId: ref(r.internetGateway) });
    resources[r.internetRoute] = resource(
      "AWS::EC2::Route",
      { RouteTableId: ref(r.routeTable), DestinationCidrBlock: "0.0.0.0/0", GatewayId: ref(r.internetGateway) },
      { DependsOn: r.gatewayAttachment },
    );
    resources[r.securityGroup] = resource("AWS::EC2::SecurityGroup", {
      // EC2 descriptions allow a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$* only: no apostrophe (cfn-lint E3031).
      GroupDescription: "MySQL over TLS from the function (outside any VPC, so from the public addresses of Lambda)",
      VpcId: ref(r.vpc),
      SecurityGroupIngress: [{ IpProtocol: "tcp", FromPort: 3306, ToPort: 3306, CidrIp: "0.0.0.0/0", Description: "MySQL; TLS and the password are required" }],
    });
  } else {
    resources[r.functionSecurityGroup] = resource("AWS::EC2::SecurityGroup", {
      GroupDescription: "The web and console functions, inside the private subnets of the database",
      VpcId: ref(r.vpc),
    });
    resources[r.securityGroup] = resource("AWS::EC2::SecurityGroup", {
      GroupDescription: "MySQL from the web and console functions only",
      VpcId: ref(r.vpc),
      SecurityGroupIngress: [{ IpProtocol: "tcp", FromPort: 3306, ToPort: 3306, SourceSecurityGroupId: ref(r.functionSecurityGroup), Description: "MySQL from the web and console functions" }],
    });
    resources[r.s3Endpoint] = resource("AWS::EC2::VPCEndpoint", {
      VpcId: ref(r.vpc),
      ServiceName: { "Fn::Sub": "com.amazonaws.${AWS::Region}.s3" },
      VpcEndpointType: "Gateway",
      RouteTableIds: [ref(r.routeTable)],
    });
  }
  return resources;
}

function databaseResources(settings: DatabaseConfig): Record<string, TemplateResource> {
  const r = DatabaseResource;
  return {
    // A secret the stack owns (not RDS's managed one, which rotates every 7 days under a running function).
    // Retained when the stack goes: it holds the password of the final snapshot's data.
    [r.secret]: resource(
      "AWS::SecretsManager::Secret",
      {
        Description: { "Fn::Sub": "${AWS::StackName}: the MySQL user and password of the app's Aurora cluster (made by serverless-lamp)" },
        GenerateSecretString: {
          SecretStringTemplate: JSON.stringify({ username: databaseUsername }),
          GenerateStringKey: "password",
          PasswordLength: 40,
          // Letters and digits only: safe unescaped in DATABASE_URL, in shells and in PHP config files.
          ExcludePunctuation: true,
        },
      },
      settings.finalSnapshot === false ? {} : { DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" },
    ),
    [r.parameterGroup]: resource("AWS::RDS::DBClusterParameterGroup", {
      Description: { "Fn::Sub": "${AWS::StackName}: TLS required" },
      Family: auroraParameterFamily,
      Parameters: { require_secure_transport: "ON" },
    }),
    // Snapshot on delete and on replacement: no deploy, template edit or destroy loses the data unasked
    // (unless lamp.json says `finalSnapshot: false`, for previews whose destroy must leave nothing behind).
    [r.cluster]: resource(
      "AWS::RDS::DBCluster",
      {
        Engine: "aurora-mysql",
        EngineVersion: auroraEngineVersion,
        DatabaseName: settings.name,
        MasterUsername: secretField("username"),
        MasterUserPassword: secretField("password"),
        DBClusterParameterGroupName: ref(r.parameterGroup),
        DBSubnetGroupName: ref(r.subnetGroup),
        VpcSecurityGroupIds: [ref(r.securityGroup)],
        ServerlessV2ScalingConfiguration: {
          MinCapacity: settings.minCapacity,
          MaxCapacity: settings.maxCapacity,
          ...(settings.minCapacity === 0 ? { SecondsUntilAutoPause: settings.autoPause } : {}),
        },
        StorageEncrypted: true,
        BackupRetentionPeriod: 7,
        CopyTagsToSnapshot: true,
      },
      settings.finalSnapshot === false ? { DeletionPolicy: "Delete", UpdateReplacePolicy: "Delete" } : { DeletionPolicy: "Snapshot", UpdateReplacePolicy: "Snapshot" },
    ),
    [r.instance]: resource(
      "AWS::RDS::DBInstance",
      {
        DBClusterIdentifier: ref(r.cluster),
        DBInstanceClass: "db.serverless",
        Engine: "aurora-mysql",
        PubliclyAccessible: settings.network === "public",
      },
      // RDS refuses a publicly accessible instance in a VPC whose internet gateway is not attached yet.
      settings.network === "public" ? { DependsOn: r.internetRoute } : {},
    ),
  };
}

function variablesFor(settings: DatabaseConfig): Record<string, TemplateValue> {
  const cluster = DatabaseResource.cluster;
  return {
    DB_HOST: getAtt(cluster, "Endpoint.Address"),
    DB_PORT: getAtt(cluster, "Endpoint.Port"),
    DB_DATABASE: settings.name,
    DB_USERNAME: databaseUsername,
    DB_PASSWORD: secretField("password"),
    DATABASE_URL: {
      "Fn::Sub":
        `mysql://${databaseUsername}:{{resolve:secretsmanager:\${${DatabaseResource.secret}}:SecretString:password}}` +
        `@\${${cluster}.Endpoint.Address}:\${${cluster}.Endpoint.Port}/${settings.name}?serverVersion=${auroraMysqlVersion}&charset=utf8mb4`,
    },
    // The cluster requires TLS; Laravel's config/database.php passes this to PDO::MYSQL_ATTR_SSL_CA.
    [caBundleVariable]: lambdaCaBundlePath,
  };
}

function outputsFor(settings: DatabaseConfig): Record<string, TemplateValue> {
  const r = DatabaseResource;
  return {
    [DatabaseOutput.endpoint]: { Description: "The Aurora MySQL cluster's writer endpoint", Value: getAtt(r.cluster, "Endpoint.Address") },
    [DatabaseOutput.port]: { Description: "Its port", Value: getAtt(r.cluster, "Endpoint.Port") },
    [DatabaseOutput.cluster]: { Description: "The cluster's identifier (lamp info reads its status)", Value: ref(r.cluster) },
    [DatabaseOutput.secret]: { Description: "The secret holding the user and password (its ARN, not its value)", Value: ref(r.secret) },
    [DatabaseOutput.name]: { Description: "The app's database", Value: settings.name },
    [DatabaseOutput.network]: { Description: "public: TLS over the internet; private: isolated subnets", Value: settings.network },
  };
}

/**
 * The template with lamp.json's database: an Aurora MySQL Serverless v2 cluster that scales to 0 ACU
 * and pauses, TLS-only, encrypted, its password generated into a Secrets Manager secret and reaching
 * the function only as a dynamic reference, a final snapshot kept on delete or replacement, the
 * network it needs, and the function's DB_* and DATABASE_URL. Without a database the template is
 * returned as it is. Pure: the input is not changed.
 */
export function applyDatabase(input: Template, config: Pick<LampConfig, "database" | "environment">, source = "template.yaml"): Template {
  const settings = config.database;
  if (!settings) return input;
  if (settings.maxCapacity < settings.minCapacity) {
    throw new LampError("config", `lamp.json: database.maxCapacity (${settings.maxCapacity}) is below database.minCapacity (${settings.minCapacity}).`, "Make maxCapacity at least minCapacity.");
  }
  for (const name of [...databaseVariableNames, caBundleVariable]) {
    if (config.environment[name] !== undefined) {
      throw new LampError("config", `lamp.json: environment.${name} is set, and so does lamp.json's database.`, `Remove ${name} from lamp.json's environment: lamp gives PHP the database's address.`);
    }
  }
  const template = structuredClone(input);
  const resources = (template.Resources ??= {});
  const added = { ...networkResources(settings.network), ...databaseResources(settings) };
  for (const [id, value] of Object.entries(added)) {
    if (resources[id] !== undefined) {
      throw new LampError("config", `${source} declares ${id}, a logical id lamp.json's database adds.`, `Rename ${id} in ${source}, or remove database from lamp.json.`);
    }
    resources[id] = value;
  }

  const web = webFunction(template, source);
  const properties = (web.resource.Properties ??= {});
  const environment = (properties.Environment ?? {}) as Record<string, TemplateValue>;
  const variables = { ...((environment.Variables ?? {}) as Record<string, TemplateValue>) };
  for (const [name, value] of Object.entries(variablesFor(settings))) {
    if (variables[name] !== undefined) {
      throw new LampError("config", `${source}: ${web.id} sets the variable ${name}, and so does lamp.json's database.`, `Remove ${name} from ${web.id}'s Environment in ${source}.`);
    }
    variables[name] = value;
  }
  properties.Environment = { ...environment, Variables: variables };
  if (settings.network === "private") {
    if (properties.VpcConfig !== undefined) {
      throw new LampError("config", `${source}: ${web.id} already has a VpcConfig, and lamp.json's database (network "private") sets one.`, `Remove VpcConfig from ${web.id}, or use network "public".`);
    }
    properties.VpcConfig = {
      SecurityGroupIds: [ref(DatabaseResource.functionSecurityGroup)],
      SubnetIds: [ref(DatabaseResource.subnetA), ref(DatabaseResource.subnetB)],
    };
  }

  const outputs = (template.Outputs ??= {}) as Record<string, TemplateValue>;
  for (const [key, value] of Object.entries(outputsFor(settings))) {
    if (outputs[key] !== undefined) {
      throw new LampError("config", `${source} declares the output ${key}, which lamp.json's database adds.`, `Rename or remove the output ${key} in ${source}.`);
    }
    outputs[key] = value;
  }
  return template;
}

/**
 * What survives a deploy that removes or replaces lamp's database resources, for the data-loss
 * warning: the cluster leaves a final snapshot, the secret is retained (their policies above).
 */
export function keptDatabaseData(logicalIds: readonly string[], finalSnapshot = true): string | undefined {
  const cluster = logicalIds.includes(DatabaseResource.cluster);
  const secret = logicalIds.includes(DatabaseResource.secret);
  if (!cluster && !secret) return undefined;
  if (!finalSnapshot) return "Nothing is kept: lamp.json's database.finalSnapshot is false for this stage, so no final snapshot is taken.";
  const kept = [
    cluster ? `${DatabaseResource.cluster} leaves a final snapshot (RDS → Snapshots) to restore from` : undefined,
    secret ? `${DatabaseResource.secret} stays in Secrets Manager with the password` : undefined,
  ].filter(Boolean);
  return `Kept: ${kept.join("; ")}.`;
}
