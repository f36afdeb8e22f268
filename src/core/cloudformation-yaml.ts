import { parse, type Tags } from "yaml";

// Why not a plain YAML parse: `!Ref X` and friends are custom tags that a YAML parser rejects or drops.

/** CloudFormation's short-form intrinsic tags, parsed into their long form ({"Fn::Sub": ...}). */
const intrinsic = (
  tag: string,
  fn: string,
  kinds: ("scalar" | "seq" | "map")[] = ["scalar", "seq", "map"],
  normalize: (value: unknown) => unknown = (value) => value,
): Tags =>
  kinds.map((kind) => ({
    tag: `!${tag}`,
    collection: kind === "scalar" ? undefined : kind,
    resolve: (value: unknown) => {
      const plain = typeof value === "object" && value !== null && "toJSON" in value ? (value as { toJSON(): unknown }).toJSON() : value;
      return { [fn]: normalize(plain) };
    },
  })) as Tags;

/** `!GetAtt Res.Attr.Sub` is short for `Fn::GetAtt: [Res, Attr.Sub]`; JSON templates need the list. */
const getAttList = (value: unknown) => {
  if (typeof value !== "string") return value;
  const dot = value.indexOf(".");
  return dot < 0 ? value : [value.slice(0, dot), value.slice(dot + 1)];
};

const customTags: Tags = [
  ...intrinsic("Ref", "Ref", ["scalar"]),
  ...intrinsic("Sub", "Fn::Sub"),
  ...intrinsic("GetAtt", "Fn::GetAtt", ["scalar", "seq"], getAttList),
  ...intrinsic("Join", "Fn::Join", ["seq"]),
  ...intrinsic("Select", "Fn::Select", ["seq"]),
  ...intrinsic("Split", "Fn::Split", ["seq"]),
  ...intrinsic("If", "Fn::If", ["seq"]),
  ...intrinsic("Equals", "Fn::Equals", ["seq"]),
  ...intrinsic("ImportValue", "Fn::ImportValue"),
  ...intrinsic("FindInMap", "Fn::FindInMap", ["seq"]),
  ...intrinsic("Base64", "Fn::Base64"),
  ...intrinsic("GetAZs", "Fn::GetAZs"),
];

/** A template's parsed form: short-form tags become long-form objects, as in a JSON template. */
export type CloudFormationTemplate = Record<string, any>;

export function parseCloudFormation(text: string): CloudFormationTemplate {
  const parsed: unknown = parse(text, { customTags });
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("the template is not a YAML mapping");
  }
  return parsed as CloudFormationTemplate;
}
