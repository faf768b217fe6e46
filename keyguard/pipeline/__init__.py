"""The scan itself: files to findings (scan), the findings cache (cache), progress on a terminal (progress)."""
