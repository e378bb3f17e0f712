"""The authorization API: downstream services (an S3-compatible store…) ask samlfed whether a SigV4-signed request
they received is allowed. See docs/authorization-api.md."""
