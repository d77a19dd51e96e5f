"""Measuring how well the assistant understands: labelled data in, metrics out."""
