"""Sign-in log ingestion: a compact daily aggregate per user × app, per tenant, behind a watermark.

Shared by the MFA report ("used") and the single-login coverage report (apps in use).
"""
