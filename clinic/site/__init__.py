"""The top of the house: what wires the apps together or reads the whole record.

The layers point down: the clinic core (the rest of `clinic`) knows neither app,
`consultations` builds on the core, `treatments` on both. What needs all of them
at once sits here, above both apps, and nothing below imports it: the home page,
a patient's whole-record export and erasure, the record summary printout, and
the data loaders (the demo clinic and the large clinic for benchmarks).
`lint-imports` (the contracts in pyproject.toml) keeps it so.
"""
