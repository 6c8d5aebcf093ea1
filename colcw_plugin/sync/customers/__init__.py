"""Customer and contact synchronisation both ways (user guide §5.3, §5.4, Appendix A and B).

:mod:`.kinds` (the two job kinds), :mod:`.exporter` (host → ConnectWise), :mod:`.importer`
(ConnectWise → host), :mod:`.links`
(the customer page's link status, clear and re-link), :mod:`.link_batch` (links read and written
in bulk). The Appendix B mapping applied to records and the state list are in :mod:`..shared`.
"""
