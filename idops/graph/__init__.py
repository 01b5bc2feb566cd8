"""Microsoft Graph for idops.

- ``port``: the ``Directory`` protocol and the dataclasses the rest of idops speaks.
- ``sdk``: the msgraph-sdk adapter (``GraphDirectory``); ``changes`` and ``batch`` are its ``$batch``
  protocol code, ``transport``/``pacer``/``retry`` its HTTP behaviour, ``errormap`` its error reading.
- ``fake``: a stateful in-memory ``Directory`` for unit tests, held to the adapter's contract suite.
- ``errors``: the typed errors both raise; ``odata``: safe filter building for the adapter;
  ``warmup``: pays msgraph's first-use cost at start.

Import the submodule you need: the package itself imports nothing (the adapter costs ~0.3 s).
"""
