"""Evaluation: realism (FID, KID), text adherence, diversity and the scale gap of a model on held-out faces."""
