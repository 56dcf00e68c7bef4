"""The fast database code, behind one wall.

- :mod:`~mercato.kit.sql.inline`: the inline ``sqlite3`` connection of the SQLite write engine;
- :mod:`~mercato.kit.sql.transaction`: :class:`InTransaction`, plain statements in the unit of
  work's own transaction (sees the request's own writes);
- :mod:`~mercato.kit.sql.committed`: :class:`CommittedReads`, read-only statements outside any
  transaction (sees committed data only);
- :mod:`~mercato.kit.sql.params`: SQL text and parameters for both drivers;
- :mod:`~mercato.kit.sql.driver`: the one module that touches a driver's internals.

Domains use these from their repositories only (``make lint`` checks it).
"""
