"""The cluster pipeline: the cluster -> the CNCF AI Conformance requirements ->
ClusterConformanceReports. Pure status building (``status``) apart from the loop that writes it
(``controller``)."""
