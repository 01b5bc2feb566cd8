"""A faithful multi-tenant Microsoft Graph emulator (HTTP), a region generator and its ground truth.

Imports nothing from the idops product: it stands in for Microsoft's service. Entry points:
``EmulatorState``, ``EmulatorServer``, ``Faults``, ``create_app`` and ``generate_region``.
"""
