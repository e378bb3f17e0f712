"""The built-in SAML 2.0 identity provider: for development, demos and testing IdP → AWS setups.

A real IdP, not a stub: users with argon2 password hashes and optional TOTP, IdP- and SP-initiated web SSO,
ECP for scripts, signing-key rotation with a pre-published next key, and claim rules that turn users into the
AWS attributes, in the shapes of the common IdPs (presets).
"""
