"""`samlfed login`: command-line federation by protocol (SAML ECP, or the browser with a loopback listener)."""
