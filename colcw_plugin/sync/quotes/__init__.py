"""Quote and sales order export to ConnectWise opportunities (user guide §4.2, §5.4, Appendix D).

``KIND`` is the job kind's name; the modules: :mod:`.kinds` (the job kind), :mod:`.job` (a run over
many documents), :mod:`.export` (one document), :mod:`.lines` (line reconciliation),
:mod:`.opportunities`, :mod:`.won` (Won on conversion), :mod:`.catalog`, :mod:`.locks`,
:mod:`.preflight` (the export page's checks) and :mod:`.state` (what a document's page shows).
"""

KIND = "quote_export"
