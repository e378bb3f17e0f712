"""Console sign-in: the ACS endpoint `/saml`, the role chooser, console sessions and the federation endpoint."""
