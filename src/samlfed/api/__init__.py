"""The AWS query protocol at the edge: request parsing, SigV4 verification and XML serialisation."""
