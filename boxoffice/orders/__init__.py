"""An order's whole life: its rules (domain.py), the PurchaseWorkflow and its activities, the
queries on its rows (repository/), the one client of its workflow (client.py), the use cases
(service.py for buyers, support.py for support staff) and their adapters (api.py,
admin_api.py, cli.py, webhooks.py)."""
