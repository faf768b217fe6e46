"""Reading a file into scannable segments: plain text and Python (documents), notebooks (notebook), Python syntax (pyparse)."""
