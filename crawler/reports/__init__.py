"""Evidence people read: annotated frames and self-contained HTML pages."""
