"""wid's Airflow integration: :class:`wid_airflow.secrets.WidSecretsBackend`, a secrets
backend that serves a deployment's linked connections from wid, authenticated with the pod's
workload identity."""

__version__ = "0.1.0"
