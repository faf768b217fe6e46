"""Output formats: text (default), json, sarif, github. Each renders findings to a string."""
