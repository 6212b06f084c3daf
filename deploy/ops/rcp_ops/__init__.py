"""What an operations team deploys and watches: alert rules and dashboards, generated from code."""
