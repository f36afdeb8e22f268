import type { LampConfig } from "../project/config.js";
import { LampError } from "../core/errors.js";
import { webFunction, type Template, type TemplateValue } from "../project/sam-template.js";

/**
 * lamp.json's mail.from, at package time: the function gets LAMP_MAIL_FROM (lamp/sendmail.php sends
 * as it) and may send through SES as that address only — the identity of the address or of its
 * domain, whichever you verified, with ses:FromAddress pinned to it. Pure.
 */

export const mailFromVariable = "LAMP_MAIL_FROM";

type Json = Record<string, TemplateValue>;

export function applyMail(input: Template, config: Pick<LampConfig, "mail">, source = "template.yaml"): Template {
  if (!config.mail) return input;
  const template = structuredClone(input);
  const from = config.mail.from;
  const domain = from.slice(from.lastIndexOf("@") + 1);
  const web = webFunction(template, source);
  const properties = (web.resource.Properties ??= {});
  const variables = (((properties.Environment ??= {}) as Json).Variables ??= {}) as Json;
  if (variables[mailFromVariable] !== undefined) {
    throw new LampError("config", `${source}: ${web.id} already sets ${mailFromVariable}, which lamp sets from lamp.json's mail.from.`, `Remove ${mailFromVariable} from ${source}.`);
  }
  variables[mailFromVariable] = from;
  const policies = properties.Policies === undefined ? [] : Array.isArray(properties.Policies) ? properties.Policies : [properties.Policies];
  policies.push({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "SendMailAsMailFrom",
        Effect: "Allow",
        Action: ["ses:SendEmail", "ses:SendRawEmail"],
        Resource: [
          { "Fn::Sub": `arn:\${AWS::Partition}:ses:\${AWS::Region}:\${AWS::AccountId}:identity/${domain}` },
          { "Fn::Sub": `arn:\${AWS::Partition}:ses:\${AWS::Region}:\${AWS::AccountId}:identity/${from}` },
        ],
        Condition: { StringEquals: { "ses:FromAddress": from } },
      },
    ],
  });
  properties.Policies = policies;
  return template;
}
