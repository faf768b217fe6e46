"""Prefilter: the cheap passes that decide which files, segments and rules need the detectors."""
