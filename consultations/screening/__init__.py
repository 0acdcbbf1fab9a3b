"""Suitability screening: the one place for the screening rules and what surrounds them.

- `rules`: the versioned rule set (pure functions of the facts, cited).
- `services`: run the rules on a consultation and record the practitioner's decision.
- `forms`: the body-image questionnaire and the decision form.
- `documents`: the printed screening summary, and the read helpers the screening
  pages share with it.
"""
