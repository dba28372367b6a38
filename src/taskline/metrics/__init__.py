"""`GET /metrics`: what Taskline reports to Prometheus.

`instruments` names every metric once; `collector` turns a snapshot of the backend's figures
(cluster-wide) and this process's HTTP figures into Prometheus metric families; `http`
counts requests as they pass.
"""
