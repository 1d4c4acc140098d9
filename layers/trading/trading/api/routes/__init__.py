"""Route groups; each Lambda includes one router (docs/architecture.md, "Functions")."""
