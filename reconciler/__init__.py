"""AgentProvision reconciler: tenants' Databricks resources, declared in YAML, kept in place."""

__version__ = "0.1.0"
