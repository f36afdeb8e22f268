import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../src/project/config.js";
import { extensionsOfIni, moduleNames } from "../../src/dev/php-extensions.js";
import {
  applyExtensions,
  extensionsIni,
  loadExtraLayerTable,
  missingExtensionHint,
  templateArchitecture,
} from "../../src/project/php-extensions.js";
import { parseTemplate, webFunction } from "../../src/project/sam-template.js";
import { writeNewProject } from "../helpers/new-project.js";

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((cleanup) => cleanup()));

async function newTemplate(arch: "x86_64" | "arm64" = "x86_64") {
  const project = await writeNewProject({ php: "8.4" });
  cleanups.push(project.remove);
  const text = readFileSync(path.join(project.root, "template.yaml"), "utf8");
  return parseTemplate(arch === "arm64" ? text.replace("- x86_64", "- arm64") : text);
}

describe("php.extensions in lamp deploy's template", () => {
  it("adds the extra extension's layer of the function's PHP version and region, after Bref's; nothing for Bref's optional ones", async () => {
    const template = await newTemplate();
    const table = await loadExtraLayerTable();
    const applied = applyExtensions(template, { region: "eu-west-1", php: { extensions: ["gd", "intl"] } }, table);
    const layers = webFunction(applied).resource.Properties!.Layers as string[];
    expect(layers).toHaveLength(2);
    expect(layers[0]).toMatch(/:873528684822:layer:php-84:\d+$/);
    expect(layers[1]).toBe(`arn:aws:lambda:eu-west-1:403367587399:layer:gd-php-84:${table["gd-php-84"]!["eu-west-1"]}`);
    // Pure: the input is unchanged, and without extra extensions the template is the same.
    expect((webFunction(template).resource.Properties!.Layers as string[]).length).toBe(1);
    expect(applyExtensions(template, { region: "eu-west-1", php: { extensions: ["intl"] } }, table)).toEqual(template);
  });

  it("refuses an extra extension for an arm64 function, naming the fix", async () => {
    const template = await newTemplate("arm64");
    expect(templateArchitecture(template)).toBe("arm64");
    expect(() => applyExtensions(template, { region: "eu-west-1", php: { extensions: ["imagick"] } }, {})).toThrow(/imagick.*x86_64 functions only/);
  });

  it("refuses a region the extra layer is not published in", async () => {
    const template = await newTemplate();
    expect(() => applyExtensions(template, { region: "mars-north-1", php: { extensions: ["gd"] } }, { "gd-php-84": { "eu-west-1": 3 } })).toThrow(/no gd-php-84 layer in region "mars-north-1"/);
  });

  it("turns Bref's optional extensions on with ini lines", () => {
    expect(extensionsIni(["gd", "intl", "apcu"])).toMatch(/\nextension=intl\nextension=apcu\n$/);
    expect(extensionsIni(["gd"])).toBeUndefined();
  });
});

describe("lamp.json's php.extensions", () => {
  it("accepts Bref's optional and extra extensions, and refuses others with the key at fault", async () => {
    const config = await validateConfig({ stackName: "shop", region: "eu-west-1", php: { extensions: ["gd", "intl"] } });
    expect(config.php?.extensions).toEqual(["gd", "intl"]);
    await expect(validateConfig({ stackName: "shop", region: "eu-west-1", php: { extensions: ["gdx"] } })).rejects.toThrow(/php\.extensions\.0/);
  });
});

describe("a PHP fatal error about a missing extension", () => {
  it("names the extension and the php.extensions entry", () => {
    expect(missingExtensionHint("PHP Fatal error:  Uncaught Error: Call to undefined function imagecreatetruecolor() in /app/index.php:3")?.message).toMatch(
      /imagecreatetruecolor\(\) is in the gd extension, not in Bref's layer.*"gd" to "php.extensions"/,
    );
    expect(missingExtensionHint('PHP Fatal error:  Uncaught Error: Class "NumberFormatter" not found in /app/x.php:2')?.extension).toBe("intl");
    expect(missingExtensionHint("PHP Fatal error:  Uncaught Error: Call to undefined function cal_days_in_month()")?.extension).toBe("calendar");
    expect(missingExtensionHint("PHP Fatal error:  Uncaught Error: Call to undefined function shmop_open()")?.message).toMatch(/no Bref layer provides/);
    // Standard functions and the app's own are not an extension's.
    expect(missingExtensionHint("PHP Fatal error:  Uncaught Error: Call to undefined function image_type_to_mime_type()")).toBeUndefined();
    expect(missingExtensionHint("PHP Fatal error:  Uncaught Error: Call to undefined function my_helper()")).toBeUndefined();
    // Asked for already: the hint would be wrong.
    expect(missingExtensionHint("Call to undefined function imagepng()", ["gd"])).toBeUndefined();
  });
});

describe("the local PHP's ini files and modules", () => {
  it("reads the extensions an ini file loads, whatever the form", () => {
    expect(extensionsOfIni("; priority=20\nextension=gd.so\n")).toEqual(["gd"]);
    expect(extensionsOfIni('zend_extension=opcache\nextension="/opt/homebrew/lib/php/pecl/20230831/php_imagick.so" ; comment\n;extension=redis\n')).toEqual(["opcache", "imagick"]);
    expect(moduleNames("[PHP Modules]\ncgi-fcgi\nCore\nZend OPcache\nPDO\n\n[Zend Modules]\n")).toEqual(["core", "opcache", "pdo"]);
  });
});
