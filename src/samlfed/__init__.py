"""samlfed: a self-hosted, AWS-compatible SAML 2.0 federation service."""

__version__ = "0.1.0"
