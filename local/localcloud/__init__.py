"""Local cloud runtime: serves the SAM application on one machine with no Docker and no AWS account."""
