"""Run reports: results JSON (versioned schema) and a self-contained HTML page."""
