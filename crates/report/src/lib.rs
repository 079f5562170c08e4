//! Renders explanations: the versioned JSON schema, self-contained HTML reports, Markdown and terminal output.
