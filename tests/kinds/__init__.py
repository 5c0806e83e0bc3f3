"""Tests of the six resource kinds: spec validation, normalised shapes, connector calls."""
