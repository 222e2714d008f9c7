"""Triage: read each mention for sentiment, anger and questions, and rank it by priority.

Modules:
  text        the text form the model was trained on, plus cheap lexical signals
  encoder     the sentence encoder (all-MiniLM-L6-v2 from its PyPI package) and pooling
  model       ``load_triager`` / ``Triager.classify``: the run-time model
  priority    ``priority_score``: the documented ranking formula
  service     triage new mentions, refresh priorities, agents' corrections (database)
  data        training and validation sets (shared data + agents' corrections)
  train       ``python -m desk train``: fit heads / fine-tune the encoder, write models/triage
  files       reading the inputs of ``python -m desk classify``
  commands    the Typer commands ``train`` and ``classify``
"""
