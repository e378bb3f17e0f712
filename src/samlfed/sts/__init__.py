"""STS service logic: AssumeRoleWithSAML orchestration and temporary credentials."""
