"""Honest evaluation: full-catalogue ranking metrics with per-user values."""
