"""idops — identity operations for a region's schools, through Microsoft Graph."""

__version__ = "0.1.0"
