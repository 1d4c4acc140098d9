"""AWS and PostgreSQL implementations of the services' ports."""
