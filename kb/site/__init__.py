"""The knowledge base as a MkDocs Material site: pages generated from the YAML at build time."""
