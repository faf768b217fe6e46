"""Deciding which candidate findings stand: value shapes (shapes), ignore comments (ignores), the baseline (baseline)."""
