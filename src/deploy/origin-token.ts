import { randomBytes } from "node:crypto";
import type { Parameter, Stack } from "@aws-sdk/client-cloudformation";
import type { Template } from "../project/sam-template.js";

/**
 * The origin token's rotation (template.yaml's LampOriginTokenA/B and LampOriginSlot): each deploy
 * that reaches CloudFormation writes a new random value into the slot CloudFront does not send yet
 * and switches CloudFront to it; the other slot keeps its value (UsePreviousValue: lamp never
 * reads or stores a token), so the function accepts both while the distribution updates. A token
 * that leaked (an error page listing headers) stops working two deploys later. Templates without
 * these parameters (projects made before them) are left as they are.
 */

const originTokenSlots = { A: "LampOriginTokenA", B: "LampOriginTokenB" } as const;
const originSlotParameter = "LampOriginSlot";

type Slot = keyof typeof originTokenSlots;

/** 40 letters and digits (about 238 bits), as the parameters' AllowedPattern wants. */
export function newOriginToken(): string {
  return randomBytes(30).toString("base64").replace(/[^A-Za-z0-9]/g, "").padEnd(40, "0").slice(0, 40);
}

/** The change set's values for the origin-token parameters, or none when the template has no such parameters. */
export function originTokenParameters(template: Template, stack: Stack | undefined, type: "CREATE" | "UPDATE", token: () => string = newOriginToken): Parameter[] {
  const declared = (template.Parameters ?? {}) as Record<string, unknown>;
  if (!(originSlotParameter in declared) || !(originTokenSlots.A in declared) || !(originTokenSlots.B in declared)) return [];
  const current = stack?.Parameters?.find((parameter) => parameter.ParameterKey === originSlotParameter)?.ParameterValue;
  if (type === "CREATE" || (current !== "A" && current !== "B")) {
    return [
      { ParameterKey: originSlotParameter, ParameterValue: "A" },
      { ParameterKey: originTokenSlots.A, ParameterValue: token() },
      { ParameterKey: originTokenSlots.B, ParameterValue: token() },
    ];
  }
  const next: Slot = current === "A" ? "B" : "A";
  return [
    { ParameterKey: originSlotParameter, ParameterValue: next },
    { ParameterKey: originTokenSlots[next], ParameterValue: token() },
    { ParameterKey: originTokenSlots[current], UsePreviousValue: true },
  ];
}
