"""The workload pipeline: watched serving workloads -> evaluations -> ConformanceReports.
Pure status building (``status``) apart from the I/O that writes it (``writer``)."""
