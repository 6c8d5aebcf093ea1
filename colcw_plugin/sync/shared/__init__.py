"""What the sync features share, below them all, so no feature reaches into another's modules.

:mod:`.fields` (the Appendix B mapping applied to company and contact records, both ways),
:mod:`.states` (states and provinces), :mod:`.markers` (which document line an opportunity
product is), :mod:`.statuses` (opportunity statuses by their flags), :mod:`.reference_cache`
(tenant reference lists shared by every process for a while) and :mod:`.locks` (cross-process
locks in PostgreSQL).
"""
