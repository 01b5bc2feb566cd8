"""The directory mirror shared by MFA and single-login: classification, sync, tables."""
