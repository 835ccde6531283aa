"""A deliberately broken plugin module: importing it fails."""

raise RuntimeError("holdfast-example-plugin: this entry point is broken on purpose")
