// Validate FHIR R4 JSON resources with the npm `fhir` package (FHIR.js), as an independent check of our own
// structural validator. Reads a JSON array of resources from the file named by the first argument and prints
// one JSON result per resource: {id, valid, messages}, where messages are the errors and warnings FHIR.js found
// (value-set lookups it cannot make, severity "info", are left out).
"use strict";
const fs = require("fs");
const { Fhir } = require("fhir");

const fhir = new Fhir();
const resources = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const results = resources.map((resource) => {
  const outcome = fhir.validate(resource, { errorOnUnexpected: true });
  return {
    id: `${resource.resourceType}/${resource.id}`,
    valid: outcome.valid,
    messages: outcome.messages.filter((m) => m.severity !== "info"),
  };
});
process.stdout.write(JSON.stringify(results));
