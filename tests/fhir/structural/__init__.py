"""A structural validator for FHIR R4 JSON, used by the tests to check what the product emits."""
