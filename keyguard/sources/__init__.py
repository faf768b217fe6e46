"""Where files come from: the working tree (tree) and git history (history)."""
