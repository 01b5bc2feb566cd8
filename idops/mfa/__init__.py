"""MFA enrollment tracking: daily snapshots per municipality × school × role, summary, trend, users."""
